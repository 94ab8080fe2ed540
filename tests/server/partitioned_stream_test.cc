// Partitions and sources end to end on real catalogs: the stream of a dataset does not depend on
// which catalogs hold its partitions, and index runs keep P, the owned set and sources apart.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/index_job.h"
#include "server/local_stream.h"
#include "server/tokenize_job.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

constexpr uint32_t kPartitions = 4;

// Two sources: "code" (24 files) and "prose" (6 files), each document tagged with its source
// in a word that only that source uses, so a row's tokens tell where it came from.
class PartitionedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (int f = 0; f < 24; ++f) {
      std::string lines;
      for (int d = 0; d < 8; ++d) {
        lines += absl::StrCat(R"({"content": "def code_)", f, "_", d, R"((x):\n    return x + )",
                              f * d, R"(  # pythonic\n"})", "\n");
      }
      WriteFile(dir_->Path(absl::StrCat("code/dir", f % 3, "/f", f, ".jsonl")), lines);
    }
    for (int f = 0; f < 6; ++f) {
      std::string lines;
      for (int d = 0; d < 5; ++d) {
        lines += absl::StrCat(R"({"content": "Once upon a time )", f, " there was prose ", d,
                              R"(, zebra zebra."})", "\n");
      }
      WriteFile(dir_->Path(absl::StrCat("prose/p", f, ".jsonl")), lines);
    }
    // "all" holds every partition; the others subsets (two of them replicas of partition 1).
    for (const auto& [name, own] : std::vector<std::pair<std::string, std::string>>{
             {"all", ""}, {"low", "0-1"}, {"high", "2-3"}, {"even", "0/2"}, {"odd", "1/2"}}) {
      for (const char* source : {"code", "prose"}) {
        absl::StatusOr<IndexSummary> indexed = Index(name, source, own);
        ASSERT_TRUE(indexed.ok()) << indexed.status();
        ASSERT_GT(indexed->files_found, 0u);
      }
      auto catalog = Catalog::Open(dir_->Path(name), {});
      ASSERT_TRUE(catalog.ok());
      TokenizeOptions tokenize;
      tokenize.tokenizer_path = std::string(SHARDSTREAM_TEST_DATA_DIR) + "/gpt2/tokenizer.json";
      ASSERT_TRUE(TokenizeJob(catalog->get(), tokenize).Run().ok());
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  static absl::StatusOr<IndexSummary> Index(const std::string& db, const std::string& source,
                                            const std::string& own, uint32_t partitions = 4) {
    auto catalog = Catalog::Open(dir_->Path(db), {});
    if (!catalog.ok()) return catalog.status();
    IndexOptions options;
    options.corpus_paths = {dir_->Path(source)};
    options.source = source;
    options.partitions = partitions;
    options.own = own;
    return IndexJob(catalog->get(), options).Run();
  }

  // Up to `max` batches of rank `rank` over the catalogs `names`, flattened to token rows.
  std::vector<std::string> Stream(const std::vector<std::string>& names, uint64_t seed,
                                  uint32_t world, uint32_t rank, size_t max,
                                  const std::string& mix = "", std::string* cursor = nullptr,
                                  const std::string& resume = "") {
    std::vector<std::unique_ptr<Catalog>> owned;
    std::vector<const Catalog*> catalogs;
    CatalogOptions read_only;
    read_only.read_only = true;
    for (const std::string& name : names) {
      auto c = Catalog::Open(dir_->Path(name), read_only);
      EXPECT_TRUE(c.ok()) << c.status();
      owned.push_back(std::move(*c));
      catalogs.push_back(owned.back().get());
    }
    PlanSpec spec;
    spec.parts.tokenizer = "gpt2";
    spec.parts.seq_len = 16;
    spec.seed = seed;
    spec.mixture = *Mixture::Parse(mix);
    StreamOptions options;
    options.rank.world_size = world;
    options.rank.rank = rank;
    options.rank.batch_size = 3;
    options.resume_cursor = resume;
    auto stream = LocalStream::Open(catalogs, spec, options);
    EXPECT_TRUE(stream.ok()) << stream.status();
    if (!stream.ok()) return {};
    std::vector<std::string> out;
    Batch b;
    while (out.size() < max && *(*stream)->Next(&b)) {
      for (uint32_t r = 0; r < b.rows; ++r) {
        std::string row = absl::StrCat("e", b.epoch, " s", b.step, ":");
        for (uint32_t c = 0; c < b.seq_len; ++c) absl::StrAppend(&row, " ", b.tokens[r * b.seq_len + c]);
        out.push_back(row);
      }
      if (cursor != nullptr) *cursor = b.cursor;
    }
    return out;
  }

  static TempDir* dir_;
};

TempDir* PartitionedTest::dir_ = nullptr;

TEST_F(PartitionedTest, OneCatalogOrManyGiveTheSameStream) {
  for (uint64_t seed : {1, 2}) {
    for (uint32_t world : {1, 3}) {
      for (uint32_t rank = 0; rank < world; ++rank) {
        const std::vector<std::string> reference = Stream({"all"}, seed, world, rank, 400);
        ASSERT_GE(reference.size(), 300u);
        EXPECT_EQ(Stream({"low", "high"}, seed, world, rank, 400), reference);
        EXPECT_EQ(Stream({"high", "low"}, seed, world, rank, 400), reference);
        EXPECT_EQ(Stream({"odd", "low", "even", "high"}, seed, world, rank, 400), reference);
      }
    }
  }
}

TEST_F(PartitionedTest, CatalogsMissingAPartitionAreRefusedNamingIt) {
  CatalogOptions read_only;
  read_only.read_only = true;
  auto low = Catalog::Open(dir_->Path("low"), read_only);
  ASSERT_TRUE(low.ok());
  PlanSpec spec;
  spec.parts.tokenizer = "gpt2";
  spec.parts.seq_len = 16;
  absl::Status s = LocalStream::Open({low->get()}, spec, StreamOptions()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("partitions 2,3 of 4"));
}

TEST_F(PartitionedTest, ResumeWithOtherCatalogsAndWorldSizeContinuesExactly) {
  std::string cursor;
  Stream({"all"}, 7, 1, 0, 30, "", &cursor);
  // Reference: the uninterrupted single-rank stream.
  const std::vector<std::string> full = Stream({"all"}, 7, 1, 0, 90);
  // Resume on two catalogs with world size 3: rank r's rows are rows [3r, 3r+3) of each
  // global batch of 9 — sequences 30.. of the reference order.
  std::vector<std::vector<std::string>> ranks;
  for (uint32_t r = 0; r < 3; ++r) ranks.push_back(Stream({"low", "high"}, 7, 3, r, 18, "", nullptr, cursor));
  for (size_t step = 0; step < 6; ++step) {
    for (uint32_t r = 0; r < 3; ++r) {
      for (uint32_t i = 0; i < 3; ++i) {
        // Rows are labelled with epoch and step; compare the tokens only.
        const std::string got = ranks[r][step * 3 + i];
        const std::string want = full[30 + step * 9 + r * 3 + i];
        EXPECT_EQ(got.substr(got.find(':')), want.substr(want.find(':')));
      }
    }
  }
}

TEST_F(PartitionedTest, AMixtureDrawsOnlyItsSourcesInItsProportions) {
  // zebra (GPT-2 id 1976 for " zebra") only occurs in prose. Streaming prose=1 must never
  // give a code row, and with prose=0.5 about half of the rows are prose, although prose is
  // much less than half of the data: it repeats.
  auto contains_zebra = [](const std::string& row) { return row.find(" 1976") != std::string::npos; };
  const std::vector<std::string> prose_only = Stream({"all"}, 3, 1, 0, 201, "prose=1");
  ASSERT_EQ(prose_only.size(), 201u);
  for (const std::string& row : prose_only) EXPECT_THAT(row, ::testing::Not(HasSubstr(" 4299 ")));
  const std::vector<std::string> natural = Stream({"all"}, 3, 1, 0, 600);
  const std::vector<std::string> half = Stream({"low", "high"}, 3, 1, 0, 600, "code=1,prose=1");
  auto share = [&](const std::vector<std::string>& rows) {
    size_t n = 0;
    for (const std::string& row : rows) n += contains_zebra(row);
    return static_cast<double>(n) / rows.size();
  };
  EXPECT_LT(share(natural), 0.25);
  EXPECT_GT(share(half), 0.4);
  EXPECT_EQ(half, Stream({"all"}, 3, 1, 0, 600, "prose=0.5,code=0.5"));  // same shares
}

TEST_F(PartitionedTest, PartitionsAreFixedAndOwnershipChangesMoveFiles) {
  absl::StatusOr<IndexSummary> other_p = Index("all", "code", "", 8);
  EXPECT_EQ(other_p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other_p.status().message(), HasSubstr("new --db"));
  // A catalog that gives up partitions 2-3 drops their files, and takes them back on request.
  absl::StatusOr<IndexSummary> shrink = Index("odd", "code", "1");
  ASSERT_TRUE(shrink.ok()) << shrink.status();
  EXPECT_GT(shrink->files_removed, 0u);
  absl::StatusOr<IndexSummary> grow = Index("odd", "code", "1/2");
  ASSERT_TRUE(grow.ok());
  EXPECT_EQ(grow->files_added, shrink->files_removed);
  // An index run of one source leaves the other source's files alone.
  auto catalog = Catalog::Open(dir_->Path("odd"), {});
  ASSERT_TRUE(catalog.ok());
  std::set<std::string> sources;
  for (const auto& [id, file] : (*catalog)->files()) sources.insert(SourceOf(file));
  EXPECT_EQ(sources, (std::set<std::string>{"code", "prose"}));
}

}  // namespace
}  // namespace shardstream
