#include "server/token_store.h"

#include <sys/resource.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/index_job.h"
#include "server/tokenize_job.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using testing::TempDir;
using testing::WriteFile;

constexpr int kFiles = 300;
// Well below the number of corpus files: one open SST per file cannot fit.
constexpr rlim_t kLowOpenFileLimit = 96;

// Lowers the soft limit on open files for the scope (the hard limit stays, so it can be
// raised back).
class ScopedOpenFileLimit {
 public:
  explicit ScopedOpenFileLimit(rlim_t soft) {
    EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &saved_), 0);
    struct rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
  }
  ~ScopedOpenFileLimit() { EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &saved_), 0); }

 private:
  struct rlimit saved_;
};

size_t SstFilesIn(const std::string& dir) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".sst") ++n;
  }
  return n;
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kFiles; ++i) {
      WriteFile(dir_.Path(absl::StrCat("corpus/f", i, ".jsonl")),
                absl::StrCat("{\"content\":\"print(", i, ")\"}\n{\"content\":\"x = ", i, "\"}\n"));
    }
    std::unique_ptr<Catalog> catalog = Open();
    IndexOptions options;
    options.corpus_paths = {dir_.Path("corpus")};
    absl::StatusOr<IndexSummary> indexed = IndexJob(catalog.get(), options).Run();
    ASSERT_TRUE(indexed.ok()) << indexed.status();
    ASSERT_EQ(indexed->catalog_docs, 2 * kFiles);
  }

  std::unique_ptr<Catalog> Open(bool read_only = false) {
    CatalogOptions options;
    options.read_only = read_only;
    absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir_.Path("db"), options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Every document's tokens, by id, read through a fresh read-only catalog.
  std::map<uint64_t, std::string> ReadAll(const v1::TokenizerRecord& tokenizer) {
    std::map<uint64_t, std::string> out;
    std::unique_ptr<Catalog> catalog = Open(/*read_only=*/true);
    if (catalog == nullptr) return out;
    TokenStore store(catalog.get());
    absl::StatusOr<std::map<uint32_t, v1::TokenizedFile>> files =
        store.TokenizedFiles(FingerprintOf(tokenizer));
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return out;
    for (const auto& [id, file] : *files) {
      absl::StatusOr<std::shared_ptr<const TokenPack>> pack = store.OpenPack(tokenizer, file);
      EXPECT_TRUE(pack.ok()) << pack.status();
      if (!pack.ok()) continue;
      for (uint64_t d = file.first_doc_id(); d < file.first_doc_id() + file.num_docs(); ++d) {
        absl::StatusOr<std::string_view> packed = (*pack)->Tokens(d);
        EXPECT_TRUE(packed.ok()) << packed.status();
        if (packed.ok()) out[d] = std::string(*packed);
      }
    }
    return out;
  }

  std::set<std::string> PacksIn(const Hash128& tokenizer) {
    std::set<std::string> names;
    std::unique_ptr<Catalog> catalog = Open(/*read_only=*/true);
    std::error_code ec;
    for (const auto& entry :
         std::filesystem::directory_iterator(TokenStore(catalog.get()).PackFolder(tokenizer), ec)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  TempDir dir_;
};

// Finding: with one SST per corpus file and every SST kept open, `tokenize` of 1,500 one-line
// files died at file 1,009 under `ulimit -n 1024`.
TEST_F(TokenStoreTest, ManyFilesTokenizeUnderAnOpenFileLimitBelowTheirCount) {
  TokenizeSummary summary;
  {
    ScopedOpenFileLimit limit(kLowOpenFileLimit);
    std::unique_ptr<Catalog> catalog = Open();
    ASSERT_NE(catalog, nullptr);
    TokenizeOptions options;
    options.tokenizer_path = SHARDSTREAM_TEST_DATA_DIR "/gpt2/tokenizer.json";
    options.jobs = 2;
    absl::StatusOr<TokenizeSummary> s = TokenizeJob(catalog.get(), options).Run();
    ASSERT_TRUE(s.ok()) << s.status();
    summary = *s;
  }
  EXPECT_EQ(summary.files_tokenized, kFiles);
  EXPECT_TRUE(summary.failed.empty());
  EXPECT_TRUE(summary.status.complete());
  // One pack per file (mapped, not held open) and the records in a few SST files.
  EXPECT_EQ(PacksIn(FingerprintOf(summary.tokenizer)).size(), static_cast<size_t>(kFiles));
  EXPECT_LT(SstFilesIn(dir_.Path("db")), 20u);

  ScopedOpenFileLimit limit(kLowOpenFileLimit);
  std::map<uint64_t, std::string> tokens = ReadAll(summary.tokenizer);
  ASSERT_EQ(tokens.size(), 2u * kFiles);
  // "print(7)" and "x = 7" encode to different, non-empty id sequences.
  EXPECT_FALSE(tokens[0].empty());
  EXPECT_NE(tokens[0], tokens[1]);
}

// A pack per file, written through the store: what is read back is what was written (empty
// documents included); a replaced or dropped file's pack is deleted; packs no record names
// (an interrupted run's) are removed by RemoveLeftovers; a damaged pack is DATA_LOSS.
TEST_F(TokenStoreTest, PacksAreReadReplacedDroppedAndCleanedUp) {
  v1::TokenizerRecord tokenizer;
  tokenizer.set_name("t");
  tokenizer.set_fingerprint_hi(1);
  tokenizer.set_fingerprint_lo(2);
  tokenizer.set_token_bytes(2);
  const Hash128 fp = FingerprintOf(tokenizer);
  std::map<uint64_t, std::string> written;
  std::unique_ptr<Catalog> catalog = Open();
  ASSERT_NE(catalog, nullptr);
  TokenStore store(catalog.get());
  auto write = [&](const v1::FileRecord& file,
                   const v1::TokenizedFile* replaces) -> v1::TokenizedFile {
    absl::StatusOr<std::unique_ptr<TokenFileWriter>> writer = store.NewFileWriter(tokenizer, file);
    EXPECT_TRUE(writer.ok()) << writer.status();
    v1::TokenizedFile record;
    record.set_file_id(file.file_id());
    record.set_first_doc_id(file.first_doc_id());
    record.set_num_docs(file.num_docs());
    record.set_digest_hi(file.digest_hi());
    record.set_digest_lo(file.digest_lo());
    for (uint64_t d = file.first_doc_id(); d < file.first_doc_id() + file.num_docs(); ++d) {
      written[d] = std::string(2 * (d % 3), static_cast<char>('a' + d % 26));  // 0, 1 or 2 ids
      EXPECT_TRUE((*writer)->Add(d, written[d]).ok());
    }
    EXPECT_TRUE((*writer)->Finish().ok());
    EXPECT_TRUE(store.CommitFile(fp, record, **writer, replaces).ok());
    return record;
  };
  std::map<uint32_t, v1::TokenizedFile> records;
  for (const auto& [id, file] : catalog->files()) records[id] = write(file, nullptr);
  // A writer that never finishes leaves nothing.
  ASSERT_TRUE(store.NewFileWriter(tokenizer, catalog->files().begin()->second).ok());
  {
    ScopedOpenFileLimit limit(kLowOpenFileLimit);
    EXPECT_EQ(ReadAll(tokenizer), written);
  }
  const std::set<std::string> first = PacksIn(fp);
  ASSERT_EQ(first.size(), static_cast<size_t>(kFiles));

  // File 0 changed (another digest): its new pack replaces the old one.
  absl::StatusOr<std::map<uint32_t, v1::TokenizedFile>> stored = store.TokenizedFiles(fp);
  ASSERT_TRUE(stored.ok()) << stored.status();
  const uint32_t changed = stored->begin()->first, dropped = std::next(stored->begin())->first;
  v1::FileRecord file = catalog->files().at(changed);
  file.set_digest_hi(file.digest_hi() + 1);
  write(file, &stored->at(changed));
  // File 1 is dropped; a killed run left a temporary file and a pack no record names.
  ASSERT_TRUE(store.DropFile(fp, stored->at(dropped)).ok());
  WriteFile(store.PackFolder(fp) + "/7-0-0123456789abcdef.tokens.tmp", "partial");
  WriteFile(store.PackFolder(fp) + "/9-9-0123456789abcdef.tokens", "unnamed");
  std::set<std::string> now = PacksIn(fp);
  EXPECT_EQ(now.size(), static_cast<size_t>(kFiles) + 1);  // -old +new -dropped +2 strays
  EXPECT_FALSE(now.contains(stored->at(changed).token_pack()));
  EXPECT_FALSE(now.contains(stored->at(dropped).token_pack()));
  stored = store.TokenizedFiles(fp);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(store.RemoveLeftovers(fp, *stored).ok());
  now = PacksIn(fp);
  ASSERT_EQ(now.size(), static_cast<size_t>(kFiles) - 1);
  for (const auto& [id, record] : *stored) EXPECT_TRUE(now.contains(record.token_pack())) << id;
  EXPECT_EQ(ReadAll(tokenizer).size(), 2u * (kFiles - 1));

  // A pack cut short: DATA_LOSS naming it, with what to do.
  const v1::TokenizedFile& damaged = std::next(stored->begin(), 3)->second;
  const std::string path = store.PackPath(fp, damaged.token_pack());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  absl::StatusOr<std::shared_ptr<const TokenPack>> pack = store.OpenPack(tokenizer, damaged);
  EXPECT_EQ(pack.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(pack.status().message(), ::testing::HasSubstr("run `shardstream tokenize`"));
}

TEST_F(TokenStoreTest, AStoreOnAConstCatalogReadsAndRefusesToWrite) {
  std::unique_ptr<Catalog> catalog = Open();
  ASSERT_NE(catalog, nullptr);
  const Catalog* reading = catalog.get();
  v1::TokenizerRecord record;
  record.set_name("t");
  record.set_fingerprint_hi(1);
  EXPECT_EQ(TokenStore(reading).PutTokenizer(record).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(TokenStore(catalog.get()).PutTokenizer(record).ok());
  absl::StatusOr<std::vector<v1::TokenizerRecord>> listed = TokenStore(reading).ListTokenizers();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name(), "t");
  v1::TokenizedFile file;
  EXPECT_EQ(TokenStore(reading).DropFile(FingerprintOf(record), file).code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace shardstream
