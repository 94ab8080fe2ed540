// Dedup entries written late (Catalog::set_dedup_memory_bytes, server/dedup_index.h): the
// catalog an index run leaves is the one that writing each file's entries with it gives, also
// when the run is interrupted or an add fails, and whether the entries go through a write
// batch or an ingested SST file.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/catalog.h"
#include "server/catalog_schema.h"
#include "server/dedup_index.h"
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
  return d;
}

// Texts with copies inside the file (i % 5) and across files (the shared `offset`).
std::vector<v1::DocRecord> Docs(int n, int offset) {
  std::vector<v1::DocRecord> docs;
  for (int i = 0; i < n; ++i) {
    docs.push_back(Doc("text " + std::to_string(offset + i % 5 + (i % 2 == 0 ? i : 0)), i + 1));
  }
  return docs;
}

v1::FileRecord File(const std::string& path, const std::vector<v1::DocRecord>& docs) {
  v1::FileRecord f;
  f.set_path(path);
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

std::map<std::string, std::string> Entries(const Catalog& c, const char* family) {
  std::map<std::string, std::string> entries;
  EXPECT_TRUE(c.ForEachEntry(family, [&](std::string_view k, std::string_view v) {
                 entries[std::string(k)] = std::string(v);
               }).ok());
  return entries;
}

// Each document's original, by id: the links the catalog's readers see.
std::map<uint64_t, uint64_t> Links(const Catalog& c) {
  std::map<uint64_t, uint64_t> links;
  EXPECT_TRUE(c.ForEachDoc([&](uint64_t id, const v1::DocRecord& d) {
                 links[id] = d.has_duplicate_of() ? d.duplicate_of() : id;
                 return true;
               }).ok());
  return links;
}

// The documents' originals computed from their texts alone: the smallest id of each text.
std::map<uint64_t, uint64_t> ExpectedLinks(const std::vector<std::vector<v1::DocRecord>>& files) {
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> first;
  std::map<uint64_t, uint64_t> links;
  uint64_t id = 0;
  for (const auto& docs : files) {
    for (const v1::DocRecord& d : docs) {
      auto [it, inserted] = first.try_emplace({d.hash_hi(), d.hash_lo()}, id);
      links[id++] = it->second;
    }
  }
  return links;
}

void AddOrDie(Catalog& c, const std::string& path, const std::vector<v1::DocRecord>& docs) {
  absl::StatusOr<v1::FileRecord> added = c.AddFile(File(path, docs), docs);
  ASSERT_TRUE(added.ok()) << added.status();
}

TEST(CatalogDedup, EntriesWrittenLateGiveTheLinksAndEntriesOfEntriesWrittenWithEachFile) {
  const std::vector<v1::DocRecord> a = Docs(300, 0), b = Docs(200, 3), d = Docs(100, 1);
  TempDir now_dir, late_dir, parted_dir;
  auto now = OpenOrDie(now_dir.path());
  auto late = OpenOrDie(late_dir.path());
  auto parted = OpenOrDie(parted_dir.path());
  late->set_dedup_memory_bytes(size_t{64} << 20);
  // A budget a few documents fill: entries written at every part of a file, ahead of its record.
  parted->set_dedup_memory_bytes(1);
  parted->set_max_batch_bytes(400);
  for (Catalog* c : {now.get(), late.get(), parted.get()}) {
    AddOrDie(*c, "a", a);
    AddOrDie(*c, "b", b);
  }
  // Written late: the documents are there and linked, their entries not yet.
  EXPECT_EQ(Entries(*late, "dedup").size(), 0u);
  EXPECT_EQ(late->meta().dedup_unwritten_first(), 0u);
  EXPECT_EQ(late->meta().dedup_unwritten_end(), a.size() + b.size());
  EXPECT_EQ(Links(*late), ExpectedLinks({a, b}));
  EXPECT_EQ(Entries(*now, "dedup").size(), a.size() + b.size());
  EXPECT_EQ(now->meta().dedup_unwritten_end(), 0u);
  // A removal writes them first: promoting b's copies of a's texts needs them all.
  for (Catalog* c : {now.get(), late.get(), parted.get()}) {
    ASSERT_TRUE(c->RemoveFile(0).ok());
    AddOrDie(*c, "d", d);
  }
  ASSERT_TRUE(late->WriteDedupEntries().ok());
  EXPECT_EQ(late->meta().dedup_unwritten_end(), 0u);
  for (Catalog* c : {late.get(), parted.get()}) {
    for (const char* family : {"meta", "files", "docs", "dedup"}) {
      EXPECT_EQ(Entries(*c, family), Entries(*now, family)) << family;
    }
  }
  EXPECT_EQ(Entries(*now, "dedup").size(), b.size() + d.size());
}

TEST(CatalogDedup, AnInterruptedRunsMissingEntriesAreWrittenByTheNextWriter) {
  const std::vector<v1::DocRecord> a = Docs(300, 0), b = Docs(200, 3);
  TempDir dir, clean_dir;
  {
    // Ends without writing them, as a run killed after its last file's record.
    auto c = OpenOrDie(dir.path());
    c->set_dedup_memory_bytes(size_t{64} << 20);
    AddOrDie(*c, "a", a);
    AddOrDie(*c, "b", b);
  }
  {
    auto reader = OpenOrDie(dir.path(), /*read_only=*/true);
    EXPECT_EQ(reader->meta().dedup_unwritten_end(), a.size() + b.size());
    EXPECT_EQ(Entries(*reader, "dedup").size(), 0u);
  }
  auto c = OpenOrDie(dir.path());
  EXPECT_EQ(c->meta().dedup_unwritten_end(), 0u);
  // Probes see the entries written at Open: a third file links to a's and b's texts.
  const std::vector<v1::DocRecord> d = Docs(100, 1);
  AddOrDie(*c, "d", d);
  auto clean = OpenOrDie(clean_dir.path());
  AddOrDie(*clean, "a", a);
  AddOrDie(*clean, "b", b);
  AddOrDie(*clean, "d", d);
  for (const char* family : {"meta", "files", "docs", "dedup"}) {
    EXPECT_EQ(Entries(*c, family), Entries(*clean, family)) << family;
  }
  EXPECT_EQ(Links(*c), ExpectedLinks({a, b, d}));
}

TEST(CatalogDedup, AFailedAddForgetsItsTextsAndKeepsTheEarlierFilesOnes) {
  // b's new texts must not be found as originals at ids that the failed add gave up; a's must.
  const std::vector<v1::DocRecord> a = Docs(100, 0), b = Docs(200, 50);
  TempDir dir, clean_dir;
  auto c = OpenOrDie(dir.path());
  c->set_dedup_memory_bytes(size_t{64} << 20);
  c->set_max_batch_bytes(400);  // b's first documents commit ahead of its record
  AddOrDie(*c, "a", a);
  FailingSource failing(b, 150);
  EXPECT_EQ(c->AddFile(File("b", b), failing).status().message(), "injected failure");
  AddOrDie(*c, "b", b);
  ASSERT_TRUE(c->WriteDedupEntries().ok());
  auto clean = OpenOrDie(clean_dir.path());
  AddOrDie(*clean, "a", a);
  AddOrDie(*clean, "b", b);
  // The retry reuses the failed add's ids and overwrites its pending documents.
  EXPECT_EQ(Links(*c), ExpectedLinks({a, b}));
  for (const char* family : {"meta", "files", "docs", "dedup"}) {
    EXPECT_EQ(Entries(*c, family), Entries(*clean, family)) << family;
  }
}

TEST(DedupIndex, ManyEntriesGoInOneIngestedFileAndAreFoundAfter) {
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  CatalogStorage& storage = c->storage();
  DedupIndex index(storage.db(), storage.handle(Family::kDedup),
                   &storage.sst_options(Family::kDedup), dir.path() + "/ingest/dedup.sst",
                   /*sst_bytes=*/24 * 100);
  std::map<Hash128, uint64_t> first_with;  // the model: each text's first document
  auto fill = [&index, &first_with](uint64_t first, int n) {
    for (int i = 0; i < n; ++i) {
      const uint64_t id = first + i;
      const Hash128 hash = HashBytes("t" + std::to_string(i % 70));
      const uint64_t original = first_with.try_emplace(hash, id).first->second;
      absl::StatusOr<std::optional<uint64_t>> found = index.AddDocument(hash, id);
      ASSERT_TRUE(found.ok()) << found.status();
      EXPECT_EQ(*found, original == id ? std::nullopt : std::optional<uint64_t>(original))
          << "document " << id;
    }
  };
  fill(0, 50);  // 50 entries: below the SST size, staged in the batch
  rocksdb::WriteBatch batch;
  absl::StatusOr<bool> ingested = index.WriteTo(&batch);
  ASSERT_TRUE(ingested.ok()) << ingested.status();
  EXPECT_FALSE(*ingested);
  EXPECT_EQ(batch.Count(), 50u);
  ASSERT_TRUE(storage.db()->Write(rocksdb::WriteOptions(), &batch).ok());
  EXPECT_TRUE(index.empty());
  // Its memory is given back: held, it would count against the budget and make every later
  // add write a run of its own.
  EXPECT_EQ(index.memory_bytes(), 0u);
  fill(50, 150);  // t0..t49 are found in the family, t50..t69 first seen at 100..119
  EXPECT_EQ(*index.FindOriginal(HashBytes("t3")), 3u);
  EXPECT_EQ(*index.FindOriginal(HashBytes("t60")), 110u);
  rocksdb::WriteBatch none;
  ingested = index.WriteTo(&none);
  ASSERT_TRUE(ingested.ok()) << ingested.status();
  EXPECT_TRUE(*ingested);
  EXPECT_EQ(none.Count(), 0u);
  EXPECT_EQ(Entries(*c, "dedup").size(), 200u);
  EXPECT_EQ(*index.FindOriginal(HashBytes("t60")), 110u);  // now from the ingested file
  EXPECT_EQ(*index.FindOriginal(HashBytes("t69")), 119u);
  EXPECT_EQ(*index.FindOriginal(HashBytes("t70")), std::nullopt);
}

TEST(DedupIndex, ARunLargeEnoughForTheBucketSortIsWrittenWhole) {
  // 300,000 entries (past the 262,144 from which runs are bucket-sorted by their top hash
  // bits), 100,000 texts held twice: the SST writer refuses keys out of order, and the family
  // must hold exactly every (hash, id).
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  CatalogStorage& storage = c->storage();
  DedupIndex index(storage.db(), storage.handle(Family::kDedup),
                   &storage.sst_options(Family::kDedup), dir.path() + "/ingest/dedup.sst");
  std::set<std::string> expected;
  for (uint64_t id = 0; id < 300000; ++id) {
    const Hash128 hash = HashBytes("t" + std::to_string(id % 200000));
    ASSERT_TRUE(index.AddDocument(hash, id).ok());
    expected.insert(catalog_schema::DedupKey(hash, id));
  }
  rocksdb::WriteBatch unused;
  absl::StatusOr<bool> ingested = index.WriteTo(&unused);
  ASSERT_TRUE(ingested.ok()) << ingested.status();
  EXPECT_TRUE(*ingested);
  std::set<std::string> written;
  for (const auto& [key, value] : Entries(*c, "dedup")) written.insert(key);
  EXPECT_EQ(written.size(), expected.size());
  EXPECT_TRUE(written == expected);
  EXPECT_EQ(*index.FindOriginal(HashBytes("t7")), 7u);
  EXPECT_EQ(*index.FindOriginal(HashBytes("t199999")), 199999u);
}

}  // namespace
}  // namespace shardstream
