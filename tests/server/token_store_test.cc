#include "server/token_store.h"

#include <sys/resource.h>

#include <filesystem>

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
  std::map<uint64_t, std::string> ReadAll(const Hash128& tokenizer) {
    std::map<uint64_t, std::string> out;
    std::unique_ptr<Catalog> catalog = Open(/*read_only=*/true);
    if (catalog == nullptr) return out;
    TokenStore store(catalog.get());
    for (uint64_t id = 0; id < 2 * kFiles; ++id) {
      std::string packed;
      absl::Status s = store.ReadTokens(tokenizer, id, &packed);
      EXPECT_TRUE(s.ok()) << s;
      out[id] = packed;
    }
    return out;
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
  // Small files' tokens go through the memtable: a few SST files, not one per corpus file.
  EXPECT_LT(SstFilesIn(dir_.Path("db")), 20u);

  ScopedOpenFileLimit limit(kLowOpenFileLimit);
  std::map<uint64_t, std::string> tokens = ReadAll(FingerprintOf(summary.tokenizer));
  ASSERT_EQ(tokens.size(), 2u * kFiles);
  // "print(7)" and "x = 7" encode to different, non-empty id sequences.
  EXPECT_FALSE(tokens[0].empty());
  EXPECT_NE(tokens[0], tokens[1]);
}

// Finding: a store completed under a higher limit could no longer be opened by `stats`,
// `stream`, `index` or `serve` under 1024. Here every file's tokens are forced into their own
// ingested SST file (the path large files take), then read under a limit below their count.
TEST_F(TokenStoreTest, StoreOfMoreSstFilesThanTheOpenFileLimitOpensAndReads) {
  const Hash128 tokenizer{1, 2};
  std::map<uint64_t, std::string> written;
  {
    std::unique_ptr<Catalog> catalog = Open();
    ASSERT_NE(catalog, nullptr);
    TokenStore store(catalog.get());
    for (const auto& [id, file] : catalog->files()) {
      std::unique_ptr<TokenFileWriter> writer =
          store.NewFileWriter(tokenizer, id, /*spill_bytes=*/0);
      v1::TokenizedFile record;
      record.set_file_id(id);
      record.set_first_doc_id(file.first_doc_id());
      record.set_num_docs(file.num_docs());
      for (uint64_t d = file.first_doc_id(); d < file.first_doc_id() + file.num_docs(); ++d) {
        written[d] = absl::StrCat("tokens of ", d);
        ASSERT_TRUE(writer->Add(d, written[d]).ok());
      }
      ASSERT_TRUE(writer->Finish().ok());
      ASSERT_TRUE(store.CommitFile(tokenizer, record, *writer, nullptr).ok());
    }
  }
  EXPECT_GE(SstFilesIn(dir_.Path("db")), static_cast<size_t>(kFiles));

  ScopedOpenFileLimit limit(kLowOpenFileLimit);
  EXPECT_EQ(ReadAll(tokenizer), written);
  std::unique_ptr<Catalog> writable = Open();
  ASSERT_NE(writable, nullptr);
  absl::StatusOr<std::map<uint32_t, v1::TokenizedFile>> files =
      TokenStore(writable.get()).TokenizedFiles(tokenizer);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), static_cast<size_t>(kFiles));
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
