#include "server/corpus_stats.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/index_job.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

TEST(CorpusStats, CountsAHandMadeCorpus) {
  TempDir dir;
  // 4 documents: "x = 1" twice (one duplicate), a long-line one, and one without license.
  std::string long_line(1500, 'a');
  WriteFile(dir.Path("corpus/a.jsonl"),
            R"({"repo_name":"r/1","license":"mit","content":"x = 1"})"
            "\n"
            R"({"repo_name":"r/2","license":"mit","content":"x = 1"})"
            "\n"
            R"({"repo_name":"r/1","license":"apache-2.0","content":")" +
                long_line +
                "\"}\n"
                R"({"repo_name":"r/1","content":"def f():\n    return 1\n"})"
                "\n"
                "not json\n");
  absl::StatusOr<std::unique_ptr<Catalog>> c = Catalog::Open(dir.Path("db"), {});
  ASSERT_TRUE(c.ok());
  IndexOptions options;
  options.corpus_paths = {dir.Path("corpus")};
  ASSERT_TRUE(IndexJob(c->get(), options).Run().ok());
  absl::StatusOr<CorpusStats> s = ComputeCorpusStats(**c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->files, 1u);
  EXPECT_EQ(s->docs, 4u);
  EXPECT_EQ(s->unique_docs, 3u);
  EXPECT_EQ(s->duplicate_docs, 1u);
  EXPECT_EQ(s->duplicate_bytes, 5u);
  EXPECT_EQ(s->text_bytes, 5u + 5u + 1500u + 22u);  // "def f():\n    return 1\n" is 22
  EXPECT_EQ(s->bad_lines, 1u);
  EXPECT_EQ(s->bad_lines_by_kind.at("invalid_json"), 1u);
  EXPECT_EQ(s->licenses, (std::map<std::string, uint64_t>{{"", 1}, {"apache-2.0", 1}, {"mit", 2}}));
  ASSERT_EQ(s->top_repos.size(), 2u);
  EXPECT_EQ(s->top_repos[0], std::make_pair(std::string("r/1"), uint64_t{3}));
  EXPECT_EQ(s->rule_flags.at("max_line_chars_gt_1000"), 1u);
  EXPECT_EQ(s->rule_flags.at("mean_line_chars_gt_100"), 1u);
  EXPECT_EQ(s->rule_flags.at("no_keywords"), 3u);
  // Clean: unique and not dropped by a preset rule -> "x = 1" (first) and the def.
  EXPECT_EQ(s->codeparrot_clean_docs, 2u);
  std::string json = CorpusStatsToJson(*s);
  EXPECT_THAT(json, HasSubstr(R"("files":1,"docs":4,"unique_docs":3,"duplicate_docs":1,)"
                              R"("bad_lines":1,"damaged_files":0,"text_bytes":1532)"));
  EXPECT_THAT(CorpusStatsToTable(*s), HasSubstr("duplicates      1 (25.0%)"));
}

TEST(Histogram, BucketsByLowerBound) {
  Histogram h{{0, 10, 100}, {0, 0, 0}};
  for (uint64_t v : {0, 9, 10, 99, 100, 5000}) h.Add(v);
  EXPECT_EQ(h.counts, (std::vector<uint64_t>{2, 2, 2}));
}

}  // namespace
}  // namespace shardstream
