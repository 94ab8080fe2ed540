#include "server/catalog.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/catalog_schema.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

v1::DocRecord Doc(std::string_view text, uint64_t line) {
  v1::DocRecord d;
  Hash128 h = HashBytes(text);
  d.set_hash_hi(h.hi);
  d.set_hash_lo(h.lo);
  d.set_text_bytes(text.size());
  d.set_line(line);
  return d;
}

v1::FileRecord File(std::string path, const std::vector<std::string>& texts) {
  v1::FileRecord f;
  f.set_path(std::move(path));
  Hasher128 digest;
  for (const std::string& t : texts) digest.UpdateHash(HashBytes(t));
  Hash128 d = digest.Digest();
  f.set_digest_hi(d.hi);
  f.set_digest_lo(d.lo);
  return f;
}

std::vector<v1::DocRecord> Docs(const std::vector<std::string>& texts) {
  std::vector<v1::DocRecord> docs;
  for (size_t i = 0; i < texts.size(); ++i) docs.push_back(Doc(texts[i], i + 1));
  return docs;
}

std::unique_ptr<Catalog> OpenOrDie(const std::string& dir, CatalogOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir, options);
  EXPECT_TRUE(c.ok()) << c.status();
  return std::move(*c);
}

uint32_t Add(Catalog& c, const std::string& path, const std::vector<std::string>& texts) {
  absl::StatusOr<v1::FileRecord> f = c.AddFile(File(path, texts), Docs(texts));
  EXPECT_TRUE(f.ok()) << f.status();
  return f->file_id();
}

// duplicate_of per doc id, -1 for originals.
std::map<uint64_t, int64_t> DuplicateLinks(const Catalog& c) {
  std::map<uint64_t, int64_t> links;
  EXPECT_TRUE(c.ForEachDoc([&](uint64_t id, const v1::DocRecord& d) {
                 links[id] = d.has_duplicate_of() ? static_cast<int64_t>(d.duplicate_of()) : -1;
                 return true;
               }).ok());
  return links;
}

TEST(Catalog, AddFileAssignsDenseIdsAndLinksLaterCopiesToTheFirst) {
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  ASSERT_TRUE(c->SetTextField("content").ok());
  Add(*c, "a", {"x", "y", "x"});
  Add(*c, "b", {"y", "z"});
  EXPECT_EQ(DuplicateLinks(*c),
            (std::map<uint64_t, int64_t>{{0, -1}, {1, -1}, {2, 0}, {3, 1}, {4, -1}}));
  EXPECT_EQ(c->meta().next_doc_id(), 5u);
  EXPECT_EQ(c->files().at(1).first_doc_id(), 3u);
  EXPECT_EQ(c->files().at(1).num_docs(), 2u);
}

TEST(Catalog, RemovingAnOriginalPromotesTheEarliestRemainingCopy) {
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  uint32_t a = Add(*c, "a", {"x", "w"});
  Add(*c, "b", {"x"});
  Add(*c, "c", {"x", "w"});
  ASSERT_TRUE(c->RemoveFile(a).ok());
  // b's copy (id 2) is now the original of "x"; c's "x" (id 3) points to it; c's "w" (id 4) is
  // the only "w" left.
  EXPECT_EQ(DuplicateLinks(*c), (std::map<uint64_t, int64_t>{{2, -1}, {3, 2}, {4, -1}}));
  std::vector<std::string> dedup_keys;
  ASSERT_TRUE(c->ForEachEntry("dedup", [&](std::string_view k, std::string_view) {
                 dedup_keys.emplace_back(k);
               }).ok());
  EXPECT_EQ(dedup_keys.size(), 3u);  // one entry per remaining document
}

TEST(Catalog, RefreshKeepsIdsAndLinksButTakesNewLineNumbers) {
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  Add(*c, "a", {"x"});
  uint32_t b = Add(*c, "b", {"y", "x"});
  v1::FileRecord refreshed = File("b", {"y", "x"});
  refreshed.set_file_id(b);
  refreshed.set_size_bytes(123);
  std::vector<v1::DocRecord> docs = {Doc("y", 10), Doc("x", 20)};
  ASSERT_TRUE(c->RefreshFile(refreshed, docs).ok());
  EXPECT_EQ(c->GetDoc(2)->line(), 20u);
  EXPECT_EQ(c->GetDoc(2)->duplicate_of(), 0u);
  EXPECT_EQ(c->files().at(b).size_bytes(), 123u);
  EXPECT_EQ(c->files().at(b).first_doc_id(), 1u);

  v1::FileRecord changed = File("b", {"y", "CHANGED"});
  changed.set_file_id(b);
  EXPECT_EQ(c->RefreshFile(changed, docs).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Catalog, VersionDependsOnContentAndOrderOnly) {
  TempDir d1, d2, d3;
  auto c1 = OpenOrDie(d1.path());
  Add(*c1, "a", {"x", "y"});
  Add(*c1, "b", {"z"});
  // Same documents in the same order, but other paths, other ids and a removed file in between.
  auto c2 = OpenOrDie(d2.path());
  uint32_t junk = Add(*c2, "junk", {"j"});
  Add(*c2, "other-a", {"x", "y"});
  Add(*c2, "other-b", {"z"});
  ASSERT_TRUE(c2->RemoveFile(junk).ok());
  EXPECT_EQ(c1->version(), c2->version());
  // Same documents, other order.
  auto c3 = OpenOrDie(d3.path());
  Add(*c3, "b", {"z"});
  Add(*c3, "a", {"x", "y"});
  EXPECT_NE(c1->version(), c3->version());
  // Adding a file without documents changes no content.
  Hash128 before = c1->version();
  Add(*c1, "empty", {});
  EXPECT_EQ(c1->version(), before);
}

// Finding: the version was recomputed over all files at every commit, so indexing was
// quadratic in files (50,000 small files: 481 s). A job now defers it to one computation; an
// interrupted job leaves it stale for the next Open to compute.
TEST(Catalog, DeferredVersionEqualsTheVersionComputedAtEveryCommit) {
  TempDir eager_dir, deferred_dir;
  auto eager = OpenOrDie(eager_dir.path());
  auto deferred = OpenOrDie(deferred_dir.path());
  deferred->DeferVersion();
  for (Catalog* c : {eager.get(), deferred.get()}) {
    uint32_t junk = Add(*c, "junk", {"j"});
    Add(*c, "a", {"x", "y"});
    ASSERT_TRUE(c->RemoveFile(junk).ok());
  }
  const Hash128 before = deferred->version();  // stale: the empty catalog's
  EXPECT_NE(before, eager->version());
  ASSERT_TRUE(deferred->UpdateVersion().ok());
  EXPECT_EQ(deferred->version(), eager->version());

  // Interrupted: changes committed, the version never updated.
  deferred->DeferVersion();
  Add(*eager, "b", {"z"});
  Add(*deferred, "b", {"z"});
  deferred.reset();
  CatalogOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(OpenOrDie(deferred_dir.path(), read_only)->version(), eager->version());
  auto reopened = OpenOrDie(deferred_dir.path());
  EXPECT_EQ(reopened->version(), eager->version());
  // The next commit persists it.
  Add(*eager, "c", {"w"});
  Add(*reopened, "c", {"w"});
  EXPECT_EQ(reopened->version(), eager->version());
  reopened.reset();
  EXPECT_EQ(OpenOrDie(deferred_dir.path(), read_only)->version(), eager->version());

  // Interrupted again, then a run that changes nothing (index after a kill -9): its
  // UpdateVersion() stores the version, so the stored meta is the uninterrupted run's.
  auto again = OpenOrDie(deferred_dir.path());
  again->DeferVersion();
  Add(*eager, "d", {"v"});
  Add(*again, "d", {"v"});
  again.reset();
  auto rerun = OpenOrDie(deferred_dir.path());
  rerun->DeferVersion();
  ASSERT_TRUE(rerun->UpdateVersion().ok());
  v1::DatasetMeta stored;
  bool found = false;
  ASSERT_TRUE(rerun
                  ->ForEachEntry(catalog_schema::kMetaFamily,
                                 [&](std::string_view key, std::string_view value) {
                                   if (key != catalog_schema::kDatasetKey) return;
                                   found = stored.ParseFromArray(value.data(),
                                                                 static_cast<int>(value.size()));
                                 })
                  .ok());
  ASSERT_TRUE(found);
  EXPECT_FALSE(stored.version_stale());
  EXPECT_EQ((Hash128{stored.version_hi(), stored.version_lo()}), eager->version());
}

TEST(Catalog, ReopenedCatalogHasTheSameState) {
  TempDir dir;
  Hash128 version;
  {
    auto c = OpenOrDie(dir.path());
    ASSERT_TRUE(c->SetTextField("text").ok());
    Add(*c, "a", {"x", "x"});
    version = c->version();
  }
  CatalogOptions read_only;
  read_only.read_only = true;
  auto c = OpenOrDie(dir.path(), read_only);
  EXPECT_EQ(c->version(), version);
  EXPECT_EQ(c->meta().text_field(), "text");
  EXPECT_EQ(c->files().size(), 1u);
  EXPECT_EQ(c->GetDoc(1)->duplicate_of(), 0u);
  EXPECT_EQ(c->GetDoc(7).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c->AddFile(File("b", {}), {}).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Catalog, TextFieldOfAnIndexedCatalogCannotChange) {
  TempDir dir;
  auto c = OpenOrDie(dir.path());
  ASSERT_TRUE(c->SetTextField("content").ok());
  Add(*c, "a", {"x"});
  absl::Status s = c->SetTextField("text");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("content"));
}

TEST(Catalog, SecondWriterIsRefusedWithFailedPrecondition) {
  TempDir dir;
  auto first = OpenOrDie(dir.path());
  absl::StatusOr<std::unique_ptr<Catalog>> second = Catalog::Open(dir.path(), {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Catalog, MissingCatalogIsNotFoundForReaders) {
  TempDir dir;
  CatalogOptions read_only;
  read_only.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir.Path("none"), read_only);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(c.status().message(), HasSubstr("shardstream index"));
}

}  // namespace
}  // namespace shardstream
