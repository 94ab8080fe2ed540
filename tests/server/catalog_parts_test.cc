// Files whose documents do not fit one write batch: added, refreshed and removed in several
// commits (Catalog::set_max_batch_bytes), with the same result as one commit, and undone or
// finished by the next writer when interrupted. The records travel through DocumentList.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/perf_context.h"
#include "rocksdb/perf_level.h"
#include "server/catalog.h"
#include "server/catalog_storage.h"
#include "server/document_list.h"
#include "tests/server/failing_source.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using testing::FailingSource;
using testing::TempDir;

v1::DocRecord Doc(const std::string& text, uint64_t line) {
  v1::DocRecord d;
  const Hash128 h = HashBytes(text);
  d.set_hash_hi(h.hi);
  d.set_hash_lo(h.lo);
  d.set_text_bytes(text.size());
  d.set_line(line);
  v1::MetadataField* field = d.add_metadata();
  field->set_key("repo");
  field->set_value("r" + text);
  return d;
}

// Texts with copies inside the file (i % 7) and across files (the shared `offset`).
std::vector<v1::DocRecord> Docs(int n, int offset, uint64_t first_line = 1) {
  std::vector<v1::DocRecord> docs;
  for (int i = 0; i < n; ++i) {
    docs.push_back(
        Doc("text " + std::to_string(offset + i % 7 + (i % 3 == 0 ? i : 0)), first_line + 2 * i));
  }
  return docs;
}

v1::FileRecord File(const std::string& path, const std::vector<v1::DocRecord>& docs) {
  v1::FileRecord f;
  f.set_path(path);
  Hasher128 digest;
  for (const v1::DocRecord& d : docs) digest.UpdateHash(Hash128{d.hash_hi(), d.hash_lo()});
  const Hash128 h = digest.Digest();
  f.set_digest_hi(h.hi);
  f.set_digest_lo(h.lo);
  f.set_num_docs(docs.size());
  return f;
}

std::unique_ptr<Catalog> OpenOrDie(const std::string& dir, bool read_only = false) {
  CatalogOptions options;
  options.read_only = read_only;
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir, options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

// Every key and value of the catalog's own families.
std::map<std::string, std::string> Entries(const Catalog& c) {
  std::map<std::string, std::string> entries;
  for (const char* family : {"meta", "files", "docs", "dedup"}) {
    EXPECT_TRUE(c.ForEachEntry(family, [&](std::string_view k, std::string_view v) {
                   entries[std::string(family) + "/" + std::string(k)] = std::string(v);
                 }).ok());
  }
  return entries;
}

size_t EntriesIn(const Catalog& c, const char* family) {
  size_t n = 0;
  EXPECT_TRUE(c.ForEachEntry(family, [&](std::string_view, std::string_view) { ++n; }).ok());
  return n;
}

// The same history on a catalog that commits in one batch and one that commits a few
// documents at a time.
void History(Catalog& c) {
  const std::vector<v1::DocRecord> a = Docs(120, 0), b = Docs(90, 3), d = Docs(40, 5);
  ASSERT_TRUE(c.AddFile(File("a", a), a).ok());
  absl::StatusOr<v1::FileRecord> fb = c.AddFile(File("b", b), b);
  ASSERT_TRUE(fb.ok());
  // b's documents at other lines: a refresh, ids and links kept.
  std::vector<v1::DocRecord> moved = Docs(90, 3, /*first_line=*/1000);
  v1::FileRecord refreshed = File("b", moved);
  refreshed.set_file_id(fb->file_id());
  ASSERT_TRUE(c.RefreshFile(refreshed, moved).ok());
  // a was the original of most of b's texts: removing it promotes b's copies.
  ASSERT_TRUE(c.RemoveFile(0).ok());
  ASSERT_TRUE(c.AddFile(File("d", d), d).ok());
}

// How a catalog splits an add: its parts' size, and the records' size past which a part's
// records go to an ingested SST file instead of the write batch.
struct Split {
  const char* name;
  size_t max_batch_bytes, record_spill_bytes;
  void Apply(Catalog& c) const {
    c.set_max_batch_bytes(max_batch_bytes);
    if (record_spill_bytes > 0) c.set_record_spill_bytes(record_spill_bytes);
  }
  friend void PrintTo(const Split& split, std::ostream* os) { *os << split.name; }
};

// SST files of the docs family: none until a memtable flush, unless records were ingested.
size_t DocsSstFiles(Catalog& c) {
  rocksdb::ColumnFamilyMetaData files;
  c.storage().db()->GetColumnFamilyMetaData(c.storage().handle(Family::kDocs), &files);
  return files.file_count;
}

class CatalogSplitAdd : public ::testing::TestWithParam<Split> {};

INSTANTIATE_TEST_SUITE_P(Splits, CatalogSplitAdd,
                         ::testing::Values(Split{"FewDocumentsPerBatch", 300, 0},
                                           Split{"FewDocumentsPerIngestedFile", 300, 100},
                                           Split{"ManyDocumentsPerIngestedFile", 3000, 100}),
                         [](const ::testing::TestParamInfo<Split>& info) {
                           return info.param.name;
                         });

TEST_P(CatalogSplitAdd, AFileLargerThanABatchGetsTheIdsLinksAndEntriesOfOneCommit) {
  TempDir whole_dir, parts_dir;
  auto whole = OpenOrDie(whole_dir.path());
  auto parts = OpenOrDie(parts_dir.path());
  GetParam().Apply(*parts);
  History(*whole);
  History(*parts);
  EXPECT_EQ(DocsSstFiles(*whole), 0u);
  EXPECT_EQ(DocsSstFiles(*parts) > 0, GetParam().record_spill_bytes > 0);
  EXPECT_EQ(Entries(*parts), Entries(*whole));
  EXPECT_EQ(parts->version(), whole->version());
  EXPECT_EQ(EntriesIn(*parts, "docs"), 130u);  // b's 90 and d's 40
  EXPECT_EQ(EntriesIn(*parts, "dedup"), 130u);
}

TEST_P(CatalogSplitAdd, AnInterruptedAddIsInvisibleAndUndoneByTheNextWriter) {
  TempDir dir, clean_dir;
  const std::vector<v1::DocRecord> a = Docs(30, 0), b = Docs(200, 2);
  {
    auto c = OpenOrDie(dir.path());
    GetParam().Apply(*c);
    ASSERT_TRUE(c->AddFile(File("a", a), a).ok());
    FailingSource failing(b, 150);
    EXPECT_EQ(c->AddFile(File("b", b), failing).status().message(), "injected failure");
    // Parts of b were committed, as pending documents no file refers to.
    EXPECT_GT(EntriesIn(*c, "docs"), a.size());
    EXPECT_GT(c->meta().pending_doc_end(), c->meta().next_doc_id());
    size_t seen = 0;
    ASSERT_TRUE(c->ForEachDoc([&](uint64_t, const v1::DocRecord&) { return ++seen; }).ok());
    EXPECT_EQ(seen, a.size());
  }
  {
    // A reader leaves them, and does not see them.
    auto reader = OpenOrDie(dir.path(), /*read_only=*/true);
    size_t seen = 0;
    ASSERT_TRUE(reader->ForEachDoc([&](uint64_t, const v1::DocRecord&) { return ++seen; }).ok());
    EXPECT_EQ(seen, a.size());
    EXPECT_GT(EntriesIn(*reader, "dedup"), a.size());
  }
  // The next writer deletes them; adding b again gives what an uninterrupted add gives.
  auto c = OpenOrDie(dir.path());
  EXPECT_EQ(EntriesIn(*c, "docs"), a.size());
  EXPECT_EQ(EntriesIn(*c, "dedup"), a.size());
  EXPECT_EQ(c->meta().pending_doc_end(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/docs-ingest"));
  GetParam().Apply(*c);
  ASSERT_TRUE(c->AddFile(File("b", b), b).ok());
  auto clean = OpenOrDie(clean_dir.path());
  ASSERT_TRUE(clean->AddFile(File("a", a), a).ok());
  ASSERT_TRUE(clean->AddFile(File("b", b), b).ok());
  EXPECT_EQ(Entries(*c), Entries(*clean));
}

TEST(CatalogParts, ADedupProbeDoesNotWalkTheTombstonesOfRemovedFiles) {
  // The seek for a text's hash used to go on past the hash's prefix over every tombstone that
  // removed files had left: each probe skipped up to all of them (quadratic), and a kill test
  // that undoes parted adds again and again took minutes. Counted by RocksDB, not timed.
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  std::vector<v1::DocRecord> removed, added;
  for (int i = 0; i < 2000; ++i) removed.push_back(Doc("removed " + std::to_string(i), i + 1));
  for (int i = 0; i < 2000; ++i) added.push_back(Doc("added " + std::to_string(i), i + 1));
  ASSERT_TRUE(c->AddFile(File("a", removed), removed).ok());
  ASSERT_TRUE(c->RemoveFile(0).ok());
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  ASSERT_TRUE(c->AddFile(File("b", added), added).ok());
  const uint64_t skipped = rocksdb::get_perf_context()->internal_delete_skipped_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  // Without the bound: about 2000 × 2000 / 2 (each probe skips the tombstones after its hash).
  EXPECT_LT(skipped, 2000u);
}

TEST(DocumentList, RecordsReadBackInOrderFromTheSpillFileAndMemory) {
  TempDir dir;
  DocumentList list(dir.path(), /*memory_bytes=*/500);
  const std::vector<v1::DocRecord> docs = Docs(1000, 0);
  for (const v1::DocRecord& d : docs) ASSERT_TRUE(list.Append(d).ok());
  EXPECT_EQ(list.size(), docs.size());
  EXPECT_GT(list.spilled_bytes(), 0u);
  EXPECT_LT(list.serialized_bytes() - list.spilled_bytes(), 600u);  // the rest is on disk
  // The spill file has no name: nothing to clean up after a crash.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  auto read_all = [&list, &docs] {
    std::vector<uint64_t> lines;
    std::unique_ptr<DocumentSource> source = list.Read();
    v1::DocRecord d;
    while (true) {
      absl::StatusOr<bool> more = source->Next(&d);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      EXPECT_EQ(d.metadata(0).value(), docs[lines.size()].metadata(0).value());
      lines.push_back(d.line());
    }
    return lines;
  };
  std::vector<uint64_t> lines = read_all();
  ASSERT_EQ(lines.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(lines[i], docs[i].line());
  list.KeepFirst(333);
  EXPECT_EQ(read_all().size(), 333u);
  DocumentList moved = std::move(list);
  EXPECT_EQ(moved.size(), 333u);
}

}  // namespace
}  // namespace shardstream
