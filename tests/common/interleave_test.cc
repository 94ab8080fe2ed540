#include "common/interleave.h"

#include <cmath>
#include <numeric>
#include <random>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// Walks k = 0..n-1 with Locate, checking that each part's index counts its earlier sequences,
// and returns the largest |count_p(k) - k·w_p/W| seen over every prefix and part.
double MaxDeviation(const Interleave& il, const std::vector<uint64_t>& w, uint64_t n) {
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  std::vector<uint64_t> count(w.size(), 0);
  double worst = 0;
  for (uint64_t k = 0; k < n; ++k) {
    const Interleave::Position at = il.Locate(k);
    EXPECT_EQ(at.index, count[at.part]) << "k " << k;
    ++count[at.part];
    for (size_t p = 0; p < w.size(); ++p) {
      worst = std::max(worst, std::fabs(count[p] - (k + 1) * (w[p] / total)));
    }
  }
  return worst;
}

TEST(Interleave, ProportionsStayWithinTwoSequencesAtEveryPrefix) {
  // The documented bound: < 2 for any weights; the mixtures of the issue stay below 1.
  const std::vector<std::vector<uint64_t>> cases = {
      {7, 3}, {5, 3, 2}, {1, 1, 1}, {700, 200, 100}, {1, 1000000}, {12345, 6789, 1011, 1213}};
  for (const auto& w : cases) {
    auto il = Interleave::Create(w);
    ASSERT_TRUE(il.ok());
    const double worst = MaxDeviation(*il, w, 1'000'000);
    EXPECT_LT(worst, 2.0) << "weights " << w.size();
    if (w.size() <= 3) {
      EXPECT_LT(worst, 1.0);
    }
  }
}

TEST(Interleave, BoundHoldsForManyRandomPartsAndPathologicalWeights) {
  std::mt19937_64 rng(11);
  std::vector<std::vector<uint64_t>> cases;
  for (int c = 0; c < 6; ++c) {
    std::vector<uint64_t> w(2 + rng() % 300);
    for (uint64_t& x : w) x = 1 + rng() % (c % 2 ? 1000 : 10'000'000);
    cases.push_back(w);
  }
  // Geometric weights: the deepest Huffman tree (a path).
  std::vector<uint64_t> geometric;
  for (int i = 0; i < 30; ++i) geometric.push_back(uint64_t{1} << i);
  cases.push_back(geometric);
  // One tiny part beside equal ones (the x, ε pattern of the worst-case analysis).
  cases.push_back({1, 1000, 1000, 2000, 4000, 8000, 16000});
  for (const auto& w : cases) {
    auto il = Interleave::Create(w);
    ASSERT_TRUE(il.ok());
    EXPECT_LT(MaxDeviation(*il, w, 300'000), 2.0) << "parts " << w.size();
  }
}

TEST(Interleave, EveryWeightPeriodHoldsExactlyTheWeights) {
  const std::vector<uint64_t> w = {13, 8, 5, 3, 2, 1, 1};
  auto il = Interleave::Create(w);
  ASSERT_TRUE(il.ok());
  const uint64_t total = il->total_weight();
  ASSERT_EQ(total, 33u);
  for (uint64_t period : {0, 1, 7, 1000}) {
    std::vector<uint64_t> count(w.size(), 0);
    for (uint64_t k = period * total; k < (period + 1) * total; ++k) {
      const Interleave::Position at = il->Locate(k);
      EXPECT_EQ(at.index, period * w[at.part] + count[at.part]);
      ++count[at.part];
    }
    EXPECT_EQ(count, w) << "period " << period;
  }
}

TEST(Interleave, CountBeforeInvertsLocateAtAnyK) {
  const std::vector<uint64_t> w = {100, 37, 5, 999, 1};
  auto il = Interleave::Create(w);
  ASSERT_TRUE(il.ok());
  std::mt19937_64 rng(3);
  for (int t = 0; t < 2000; ++t) {
    const uint64_t k = rng() % (uint64_t{1} << 50);
    const Interleave::Position at = il->Locate(k);
    EXPECT_EQ(il->CountBefore(at.part, k), at.index);
    EXPECT_EQ(il->CountBefore(at.part, k + 1), at.index + 1);
    uint64_t sum = 0;
    for (uint32_t p = 0; p < w.size(); ++p) sum += il->CountBefore(p, k);
    EXPECT_EQ(sum, k);  // the parts share the first k sequences exactly
  }
}

TEST(Interleave, OnePartIsTheIdentityAndBadWeightsAreRefused) {
  auto one = Interleave::Create({5});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->Locate(123).part, 0u);
  EXPECT_EQ(one->Locate(123).index, 123u);
  EXPECT_EQ(Interleave::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Interleave::Create({3, 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Interleave::Create({Interleave::kMaxTotalWeight, 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Interleave, LargeIndicesAndWeightsDoNotOverflow) {
  const std::vector<uint64_t> w = {Interleave::kMaxTotalWeight / 3, Interleave::kMaxTotalWeight / 3};
  auto il = Interleave::Create(w);
  ASSERT_TRUE(il.ok());
  const uint64_t k = uint64_t{1} << 62;
  const uint64_t left = il->CountBefore(0, k), right = il->CountBefore(1, k);
  EXPECT_EQ(left + right, k);
  EXPECT_LE(left > right ? left - right : right - left, 1u);
}

}  // namespace
}  // namespace shardstream
