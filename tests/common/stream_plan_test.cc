// The plan math of partitions and mixtures: part sets, mixture specs, the stream plan and the
// rank schedule (no storage involved).
#include "common/stream_plan.h"

#include <map>
#include <numeric>

#include "common/part_directory.h"
#include "common/rank_schedule.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PartitionSet, ParsesIdsRangesAndModuloClasses) {
  EXPECT_THAT(*ParsePartitionSet("0-2,5", 8), ElementsAre(0, 1, 2, 5));
  EXPECT_THAT(*ParsePartitionSet("1/3", 8), ElementsAre(1, 4, 7));
  EXPECT_THAT(*ParsePartitionSet("all", 3), ElementsAre(0, 1, 2));
  EXPECT_THAT(*ParsePartitionSet("3,1,1", 4), ElementsAre(1, 3));
  for (const char* bad : {"", "8", "2-1", "a", "3/3", "1/0", "0-", "-1"}) {
    EXPECT_EQ(ParsePartitionSet(bad, 8).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(FormatPartitionSet({0, 1, 2, 5, 7, 8}, 16), "0-2,5,7-8");
  EXPECT_EQ(FormatPartitionSet({0, 1}, 2), "all");
}

TEST(PartitionOfPath, IsStableAndSpreadsFiles) {
  // Persisted: these values are part of every catalog; never change them.
  EXPECT_EQ(PartitionOfPath("a/b.jsonl.gz", 1), 0u);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 4000; ++i) ++counts[PartitionOfPath("file-" + std::to_string(i), 8)];
  ASSERT_EQ(counts.size(), 8u);
  for (const auto& [p, n] : counts) EXPECT_GT(n, 400) << p;
  EXPECT_EQ(PartitionOfPath("x", 8), PartitionOfPath(std::string("x"), 8));
}

TEST(Mixture, ParsesAndNormalises) {
  auto m = Mixture::Parse("python=0.7,docs=0.3");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), "docs=0.3,python=0.7");
  EXPECT_FALSE(m->natural());
  // Same shares, same fingerprint; other shares, another one.
  EXPECT_EQ(Mixture::Parse("a=2,b=2")->Fingerprint(), Mixture::Parse("b=1,a=1")->Fingerprint());
  EXPECT_NE(Mixture::Parse("a=2,b=1")->Fingerprint(), Mixture::Parse("a=1,b=1")->Fingerprint());
  EXPECT_EQ(Mixture::Parse("")->Fingerprint(), Hash128{});
  for (const char* bad : {"a", "a=", "=1", "a=0", "a=-1", "a=1,a=2", "a=1e3", "a=0.1234567891",
                          "a b=1", "a=nan", "a=1,,b=2"}) {
    EXPECT_EQ(Mixture::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

PartSize Part(const std::string& source, uint32_t partition, uint64_t sequences) {
  return PartSize{PartKey{source, partition}, Hash128{partition, sequences}, sequences,
                  sequences * 16, sequences};
}

StreamParameters Parameters(const std::string& mix = "") {
  StreamParameters p;
  p.seq_len = 16;
  p.seed = 5;
  p.partitions = 2;
  p.mixture = *Mixture::Parse(mix);
  return p;
}

TEST(StreamPlan, NaturalEpochHoldsExactlyOneEpochOfEveryPart) {
  auto plan = StreamPlan::Create(Parameters(), {Part("a", 0, 30), Part("a", 1, 10),
                                                Part("b", 0, 7), Part("b", 1, 0)});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ((*plan)->parts().size(), 3u);  // the part without a full sequence is left out
  EXPECT_EQ((*plan)->epoch_sequences(), 47u);
  for (uint64_t epoch : {0, 1, 5}) {
    std::map<uint32_t, std::vector<uint64_t>> seen;
    for (uint64_t i = 0; i < 47; ++i) {
      const StreamPlan::Row row = (*plan)->Locate(epoch, i);
      EXPECT_EQ(row.part_epoch, epoch);
      seen[row.part].push_back(row.sequence);
    }
    for (const auto& [part, sequences] : seen) {
      std::vector<uint64_t> expected(sequences.size());
      std::iota(expected.begin(), expected.end(), 0);
      EXPECT_EQ(sequences, expected);  // each part in its own order, each sequence once
      EXPECT_EQ(sequences.size(), (*plan)->parts()[part].sequences);
    }
  }
}

TEST(StreamPlan, WeightedSourcesRepeatOrSubsampleTheirParts) {
  // b is 10% of the data but gets 50% of the sequences: it runs through ~4.5 epochs while a
  // runs through about half of one.
  auto plan = StreamPlan::Create(Parameters("a=1,b=1"),
                                 {Part("a", 0, 45), Part("a", 1, 45), Part("b", 0, 10)});
  ASSERT_TRUE(plan.ok());
  std::map<std::string, uint64_t> per_source;
  uint64_t max_b_epoch = 0;
  for (uint64_t i = 0; i < (*plan)->epoch_sequences(); ++i) {
    const StreamPlan::Row row = (*plan)->Locate(0, i);
    const PartSize& part = (*plan)->parts()[row.part];
    ++per_source[part.key.source];
    if (part.key.source == "b") max_b_epoch = std::max(max_b_epoch, row.part_epoch);
    ASSERT_LT(row.sequence, part.sequences);
  }
  EXPECT_NEAR(per_source["a"], 50, 1);
  EXPECT_NEAR(per_source["b"], 50, 1);
  EXPECT_EQ(max_b_epoch, 4u);
  // A mixture that names a missing source, or one without data, is refused by name.
  auto missing = StreamPlan::Create(Parameters("c=1"), {Part("a", 0, 45)});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("c"));
  auto empty = StreamPlan::Create(Parameters("a=1,b=1"), {Part("a", 0, 45), Part("b", 0, 0)});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StreamPlan, TheDataVersionCoversEveryStreamedPartButNoOther) {
  auto base = StreamPlan::Create(Parameters("a=1"), {Part("a", 0, 9), Part("b", 0, 9)});
  PartSize changed_b = Part("b", 0, 9);
  changed_b.version.lo ^= 1;
  auto other_b = StreamPlan::Create(Parameters("a=1"), {Part("a", 0, 9), changed_b});
  PartSize changed_a = Part("a", 0, 9);
  changed_a.version.lo ^= 1;
  auto other_a = StreamPlan::Create(Parameters("a=1"), {changed_a, Part("b", 0, 9)});
  ASSERT_TRUE(base.ok() && other_a.ok() && other_b.ok());
  EXPECT_EQ((*base)->identity().dataset_version, (*other_b)->identity().dataset_version);
  EXPECT_NE((*base)->identity().dataset_version, (*other_a)->identity().dataset_version);
}

TEST(RankSchedule, ResumingWithAnotherMixtureIsRefusedNamingIt) {
  auto natural = StreamPlan::Create(Parameters(), {Part("a", 0, 40), Part("b", 0, 40)});
  auto mixed = StreamPlan::Create(Parameters("a=0.7,b=0.3"), {Part("a", 0, 40), Part("b", 0, 40)});
  ASSERT_TRUE(natural.ok() && mixed.ok());
  RankOptions rank;
  rank.batch_size = 4;
  auto schedule = RankSchedule::Create(*natural, rank, "");
  ASSERT_TRUE(schedule.ok());
  schedule->Advance();
  auto resumed = RankSchedule::Create(*mixed, rank, schedule->cursor());
  EXPECT_EQ(resumed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(resumed.status().message(), HasSubstr("mixture"));
}

HolderReport Holder(const std::string& name, std::vector<uint32_t> held,
                    std::vector<PartSize> parts) {
  HolderReport r;
  r.holder = name;
  r.partitions = 3;
  r.held = std::move(held);
  r.parts = std::move(parts);
  return r;
}

TEST(PartDirectory, JoinsHoldersAndRefusesGapsAndDisagreements) {
  auto d = PartDirectory::Build({Holder("s0", {0, 1}, {Part("a", 0, 5), Part("a", 1, 6)}),
                                 Holder("s1", {1, 2}, {Part("a", 1, 6), Part("a", 2, 7)})});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->parts().size(), 3u);
  EXPECT_THAT(d->holders(1), ElementsAre(0, 1));  // replicas
  auto gap = PartDirectory::Build({Holder("s0", {0, 1}, {Part("a", 0, 5)})});
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(gap.status().message(), HasSubstr("partition 2 of 3"));
  PartSize other = Part("a", 1, 6);
  other.version.hi ^= 1;
  auto disagree = PartDirectory::Build({Holder("s0", {0, 1}, {Part("a", 1, 6)}),
                                        Holder("s1", {1, 2}, {other})});
  EXPECT_EQ(disagree.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(disagree.status().message(), HasSubstr("partition 1 differs between s0 and s1"));
  HolderReport p4 = Holder("s2", {2}, {});
  p4.partitions = 4;
  auto other_p = PartDirectory::Build({Holder("s0", {0, 1}, {}), p4});
  EXPECT_EQ(other_p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other_p.status().message(), HasSubstr("--partitions"));
}

}  // namespace
}  // namespace shardstream
