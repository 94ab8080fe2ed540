#include "server/near_dup_clustering.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

constexpr uint32_t kPermutations = 64;

// Signatures in memory: doc g has signature sigs[g] (empty = none).
struct Corpus {
  std::vector<std::vector<uint16_t>> sigs;
  std::vector<uint32_t> part_starts = {0};
  bool reverse_scan = false;

  ClusteringInput Input() const {
    ClusteringInput in;
    in.docs = static_cast<uint32_t>(sigs.size());
    in.part_starts = part_starts;
    in.permutations = kPermutations;
    in.scan = [this](const std::function<void(uint32_t, const uint16_t*)>& emit) {
      for (size_t i = 0; i < sigs.size(); ++i) {
        const size_t g = reverse_scan ? sigs.size() - 1 - i : i;
        if (!sigs[g].empty()) emit(static_cast<uint32_t>(g), sigs[g].data());
      }
      return absl::OkStatus();
    };
    in.read = [this](uint32_t g, std::vector<uint16_t>* out) {
      *out = sigs[g];
      return absl::OkStatus();
    };
    return in;
  }
};

std::vector<uint16_t> RandomSignature(std::mt19937& rng) {
  std::vector<uint16_t> s(kPermutations);
  for (uint16_t& v : s) v = static_cast<uint16_t>(rng());
  return s;
}

// A copy of `s` with `changed` of its values replaced.
std::vector<uint16_t> Edited(std::vector<uint16_t> s, int changed, std::mt19937& rng) {
  for (int i = 0; i < changed; ++i) s[rng() % kPermutations] = static_cast<uint16_t>(rng());
  return s;
}

ClusteringOptions Options() {
  ClusteringOptions o;
  o.threshold = 0.7;
  o.bands = OptimalBands(0.7, kPermutations);
  return o;
}

TEST(NearDupClusteringTest, JoinsSimilarSignaturesUnderTheFirstDocument) {
  std::mt19937 rng(3);
  Corpus c;
  const auto base = RandomSignature(rng);
  c.sigs = {RandomSignature(rng),
            base,
            Edited(base, 4, rng),
            RandomSignature(rng),
            Edited(base, 6, rng),
            {},
            base};
  absl::StatusOr<Clustering> r = ClusterNearDuplicates(c.Input(), Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->root, ::testing::ElementsAre(0, 1, 1, 3, 1, 5, 1));
  EXPECT_EQ(r->joined_pairs, 3u);
}

TEST(NearDupClusteringTest, DissimilarSignaturesSharingABandAreNotJoined) {
  std::mt19937 rng(4);
  Corpus c;
  const auto base = RandomSignature(rng);
  auto other = RandomSignature(rng);
  std::copy(base.begin(), base.begin() + 16, other.begin());  // equal first bands, J ≈ 0.25
  c.sigs = {base, other};
  absl::StatusOr<Clustering> r = ClusterNearDuplicates(c.Input(), Options());
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->root, ::testing::ElementsAre(0, 1));
  EXPECT_GE(r->candidate_pairs, 1u);
  EXPECT_EQ(r->joined_pairs, 0u);
}

TEST(NearDupClusteringTest, DocumentsOfDifferentPartsAreNeverJoined) {
  std::mt19937 rng(5);
  Corpus c;
  const auto base = RandomSignature(rng);
  c.sigs = {base, base, base, base};
  c.part_starts = {0, 2};
  absl::StatusOr<Clustering> r = ClusterNearDuplicates(c.Input(), Options());
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->root, ::testing::ElementsAre(0, 0, 2, 2));
}

TEST(NearDupClusteringTest, ResultIndependentOfScanOrderAndMemory) {
  std::mt19937 rng(6);
  Corpus c;
  std::vector<std::vector<uint16_t>> bases;
  for (int i = 0; i < 30; ++i) bases.push_back(RandomSignature(rng));
  for (int i = 0; i < 600; ++i) {
    c.sigs.push_back(Edited(bases[rng() % bases.size()], static_cast<int>(rng() % 30), rng));
  }
  c.part_starts = {0, 200, 450};
  absl::StatusOr<Clustering> one = ClusterNearDuplicates(c.Input(), Options());
  ASSERT_TRUE(one.ok());
  c.reverse_scan = true;
  ClusteringOptions small = Options();
  small.memory_bytes = 600 * 8 * 3;  // two bands per pass and one band's sort scratch
  absl::StatusOr<Clustering> two = ClusterNearDuplicates(c.Input(), small);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(one->root, two->root);
  EXPECT_EQ(one->passes, 1u);
  EXPECT_EQ(two->passes, (small.bands.bands + 1) / 2);
  // Roots are the first of their cluster and lie in the same part.
  for (uint32_t g = 0; g < one->root.size(); ++g) {
    EXPECT_LE(one->root[g], g);
    auto part = [&](uint32_t x) {
      return std::upper_bound(c.part_starts.begin(), c.part_starts.end(), x) -
             c.part_starts.begin();
    };
    EXPECT_EQ(part(one->root[g]), part(g));
  }
}

TEST(NearDupClusteringTest, RefusesBandsLargerThanTheSignature) {
  Corpus c;
  ClusteringOptions o = Options();
  o.bands = {kPermutations, 2};
  EXPECT_FALSE(ClusterNearDuplicates(c.Input(), o).ok());
}

}  // namespace
}  // namespace shardstream
