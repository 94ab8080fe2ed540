#include "server/index_job.h"

#include <sys/stat.h>
#include <utime.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using testing::Gzip;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;
using testing::Zstd;

std::string Line(const std::string& content, const std::string& repo = "r/x") {
  return absl::StrCat(R"({"repo_name":")", repo, R"(","content":")", content,
                      R"(","license":"mit"})", "\n");
}

// `count` documents "prefix-0" ... as JSON lines.
std::string Lines(const std::string& prefix, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += Line(absl::StrCat(prefix, "-", i));
  return out;
}

// Every catalog entry, for comparing whole catalogs.
std::string Dump(const Catalog& c) {
  std::string out;
  for (const char* family : {"meta", "files", "docs", "dedup"}) {
    EXPECT_TRUE(c.ForEachEntry(family, [&](std::string_view k, std::string_view v) {
                   absl::StrAppend(&out, family, ":", k.size(), ":", v.size(), ":");
                   out.append(k);
                   out.append(v);
                   out.push_back('\n');
                 }).ok());
  }
  return out;
}

class IndexJobTest : public ::testing::Test {
 protected:
  std::unique_ptr<Catalog> Open() {
    absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir_.Path("db"), {});
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  IndexSummary Index(Catalog& c, int jobs = 2, std::string field = "content") {
    IndexOptions options;
    options.corpus_paths = {corpus()};
    options.jobs = jobs;
    options.text_field = field;
    IndexJob job(&c, options);
    absl::StatusOr<IndexSummary> s = job.Run();
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : IndexSummary{};
  }
  std::string corpus() const { return dir_.Path("corpus"); }
  std::string CorpusFile(const std::string& name) const {
    return dir_.Path(absl::StrCat("corpus/", name));
  }
  void SetMtime(const std::string& name, time_t seconds) {
    struct utimbuf t {
      seconds, seconds
    };
    ASSERT_EQ(::utime(CorpusFile(name).c_str(), &t), 0);
  }

  TempDir dir_;
};

TEST_F(IndexJobTest, IndexesEveryFormatAndAssignsIdsInPathOrder) {
  WriteFile(CorpusFile("b.jsonl.zst"), Zstd(Lines("b", 3)));
  WriteFile(CorpusFile("a.json.gz"), Gzip(Lines("a", 2)));
  WriteFile(CorpusFile("sub/c.jsonl"), Lines("c", 4));
  WriteFile(CorpusFile("notes.txt"), "ignored");
  auto c = Open();
  IndexSummary s = Index(*c);
  EXPECT_EQ(s.files_found, 3u);
  EXPECT_EQ(s.files_added, 3u);
  EXPECT_EQ(s.files_ignored, 1u);
  EXPECT_EQ(s.catalog_docs, 9u);
  std::map<std::string, std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [id, f] : c->files()) ranges[f.path()] = {f.first_doc_id(), f.num_docs()};
  EXPECT_EQ(ranges["a.json.gz"], std::make_pair(uint64_t{0}, uint64_t{2}));
  EXPECT_EQ(ranges["b.jsonl.zst"], std::make_pair(uint64_t{2}, uint64_t{3}));
  EXPECT_EQ(ranges["sub/c.jsonl"], std::make_pair(uint64_t{5}, uint64_t{4}));
  absl::StatusOr<v1::DocRecord> doc = c->GetDoc(3);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->line(), 2u);
  EXPECT_EQ(doc->text_bytes(), std::string("b-1").size());
  EXPECT_EQ(Hash128({doc->hash_hi(), doc->hash_lo()}), HashBytes("b-1"));
  ASSERT_EQ(doc->metadata_size(), 2);
  EXPECT_EQ(doc->metadata(0).key(), "repo_name");
  EXPECT_EQ(doc->metadata(1).value(), "mit");
}

TEST_F(IndexJobTest, ParallelismDoesNotChangeASingleByteOfTheCatalog) {
  for (int i = 0; i < 12; ++i) {
    WriteFile(CorpusFile(absl::StrCat("f", i, ".jsonl.gz")),
              Gzip(Lines(absl::StrCat("doc", i % 4), 50 + i * 37)));
  }
  std::string dumps[2];
  int jobs[2] = {1, 4};
  for (int k = 0; k < 2; ++k) {
    TempDir db;
    absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(db.path(), {});
    ASSERT_TRUE(c.ok());
    IndexOptions options;
    options.corpus_paths = {corpus()};
    options.jobs = jobs[k];
    ASSERT_TRUE(IndexJob(c->get(), options).Run().ok());
    dumps[k] = Dump(**c);
  }
  EXPECT_EQ(dumps[0], dumps[1]);
}

TEST_F(IndexJobTest, UnchangedRerunReadsNothingAndChangesNothing) {
  WriteFile(CorpusFile("a.jsonl"), Lines("a", 5));
  WriteFile(CorpusFile("b.jsonl"), Lines("b", 5));
  auto c = Open();
  Index(*c);
  const std::string before = Dump(*c);
  IndexSummary s = Index(*c);
  EXPECT_EQ(s.files_unchanged, 2u);
  EXPECT_EQ(s.raw_bytes_read, 0u);
  EXPECT_FALSE(s.version_changed);
  EXPECT_EQ(Dump(*c), before);
}

TEST_F(IndexJobTest, RewrittenFileWithSameDocumentsKeepsIdsAndVersion) {
  WriteFile(CorpusFile("a.jsonl.gz"), Gzip(Lines("a", 5)));
  WriteFile(CorpusFile("b.jsonl"), Lines("b", 3));
  auto c = Open();
  Index(*c);
  const Hash128 version = c->version();
  // Recompress as two gzip members with a blank line: other bytes, same documents.
  std::string text = Lines("a", 5);
  WriteFile(CorpusFile("a.jsonl.gz"), Gzip("\n" + text.substr(0, 100)) + Gzip(text.substr(100)));
  SetMtime("a.jsonl.gz", 1000);
  IndexSummary s = Index(*c);
  EXPECT_EQ(s.files_refreshed, 1u);
  EXPECT_EQ(s.files_unchanged, 1u);
  EXPECT_FALSE(s.version_changed);
  EXPECT_EQ(c->version(), version);
  EXPECT_EQ(c->GetDoc(0)->line(), 2u);  // shifted by the blank line, same id
  EXPECT_EQ(c->meta().next_doc_id(), 8u);
}

TEST_F(IndexJobTest, ChangedFileIsReindexedAddedAddedRemovedDropped) {
  WriteFile(CorpusFile("a.jsonl"), Lines("a", 3));
  WriteFile(CorpusFile("b.jsonl"), Lines("b", 3));
  WriteFile(CorpusFile("c.jsonl"), Lines("c", 3));
  auto c = Open();
  Index(*c);
  const Hash128 v1 = c->version();

  WriteFile(CorpusFile("b.jsonl"), Lines("b", 3) + Line("new"));
  SetMtime("b.jsonl", 2000);
  std::filesystem::remove(CorpusFile("c.jsonl"));
  WriteFile(CorpusFile("d.jsonl"), Lines("d", 2));
  IndexSummary s = Index(*c);
  EXPECT_EQ(s.files_reindexed, 1u);
  EXPECT_EQ(s.files_removed, 1u);
  EXPECT_EQ(s.files_added, 1u);
  EXPECT_EQ(s.files_unchanged, 1u);
  EXPECT_EQ(s.docs_removed, 6u);
  EXPECT_EQ(s.docs_added, 6u);
  EXPECT_TRUE(s.version_changed);
  EXPECT_NE(c->version(), v1);
  // Ids are never reused: b's new documents and d's come after the old maximum (8), in path order.
  std::map<std::string, uint64_t> first;
  for (const auto& [id, f] : c->files()) first[f.path()] = f.first_doc_id();
  EXPECT_EQ(first,
            (std::map<std::string, uint64_t>{{"a.jsonl", 0}, {"b.jsonl", 9}, {"d.jsonl", 13}}));
  EXPECT_EQ(c->GetDoc(3).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(IndexJobTest, BadLinesAreCountedByKindWithTheFirstLineAndGoodOnesKept) {
  std::string text = Line("good-1") + "{not json\n" +
                     R"({"content": 5})"
                     "\n" +
                     R"({"path": "x"})"
                     "\n\n" +
                     "{\"content\": \"\xff\"}\n" + Line("good-2") + "[1]\n" +
                     R"({"content": "\udc00"})"
                     "\n";
  WriteFile(CorpusFile("a.jsonl"), text);
  auto c = Open();
  IndexSummary s = Index(*c);
  EXPECT_EQ(s.catalog_docs, 2u);
  EXPECT_EQ(s.bad_lines_read, 6u);
  const v1::FileRecord& f = c->files().begin()->second;
  EXPECT_EQ(f.lines(), 9u);
  std::map<v1::BadLineKind, std::pair<uint64_t, uint64_t>> bad;  // kind -> (count, first line)
  for (const v1::BadLineCount& b : f.bad_lines()) bad[b.kind()] = {b.count(), b.first_line()};
  using P = std::pair<uint64_t, uint64_t>;
  EXPECT_EQ(bad[v1::BAD_LINE_INVALID_JSON], P(2, 2));
  EXPECT_EQ(bad[v1::BAD_LINE_FIELD_NOT_STRING], P(1, 3));
  EXPECT_EQ(bad[v1::BAD_LINE_MISSING_FIELD], P(1, 4));
  EXPECT_EQ(bad[v1::BAD_LINE_INVALID_UTF8], P(2, 6));
  EXPECT_EQ(c->GetDoc(1)->line(), 7u);
}

TEST_F(IndexJobTest, OverlongLinesAreCountedAndSkipped) {
  WriteFile(CorpusFile("a.jsonl"), Line("short") + Line(std::string(5000, 'x')) + Line("after"));
  auto c = Open();
  IndexOptions options;
  options.corpus_paths = {corpus()};
  options.max_line_bytes = 1024;
  absl::StatusOr<IndexSummary> s = IndexJob(c.get(), options).Run();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->catalog_docs, 2u);
  const v1::FileRecord& f = c->files().begin()->second;
  ASSERT_EQ(f.bad_lines_size(), 1);
  EXPECT_EQ(f.bad_lines(0).kind(), v1::BAD_LINE_TOO_LONG);
  EXPECT_EQ(f.bad_lines(0).first_line(), 2u);
  EXPECT_EQ(c->GetDoc(1)->line(), 3u);
}

TEST_F(IndexJobTest, TruncatedFileKeepsEveryCompleteDocumentAndIsMarkedDamaged) {
  std::string text = Lines("t", 20000);
  std::string gz = Gzip(text);
  WriteFile(CorpusFile("t.jsonl.gz"), gz.substr(0, gz.size() / 2));
  auto c = Open();
  IndexSummary s = Index(*c);
  ASSERT_EQ(s.damaged.size(), 1u);
  EXPECT_THAT(s.damaged[0].error, HasSubstr("truncated"));
  const v1::FileRecord& f = c->files().begin()->second;
  EXPECT_TRUE(f.damaged());
  EXPECT_GT(f.num_docs(), 1000u);
  EXPECT_LT(f.num_docs(), 20000u);
  EXPECT_EQ(f.bad_lines_size(), 0);  // the cut line is damage, not a bad line
  // The kept documents are exactly the first ones of the file.
  EXPECT_EQ(
      Hash128({c->GetDoc(f.num_docs() - 1)->hash_hi(), c->GetDoc(f.num_docs() - 1)->hash_lo()}),
      HashBytes(absl::StrCat("t-", f.num_docs() - 1)));
}

TEST_F(IndexJobTest, OtherTextFieldOnAnIndexedCatalogIsRefused) {
  WriteFile(CorpusFile("a.jsonl"), Lines("a", 1));
  auto c = Open();
  Index(*c);
  IndexOptions options;
  options.corpus_paths = {corpus()};
  options.text_field = "text";
  absl::StatusOr<IndexSummary> s = IndexJob(c.get(), options).Run();
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(IndexOptions, ValidateNamesTheBadOption) {
  IndexOptions options;
  EXPECT_THAT(options.Validate().message(), HasSubstr("--corpus"));
  options.corpus_paths = {"/x"};
  options.jobs = 0;
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(options.Validate().message(), HasSubstr("--jobs"));
}

}  // namespace
}  // namespace shardstream
