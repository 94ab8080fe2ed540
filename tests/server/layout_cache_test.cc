#include "server/layout_cache.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

std::shared_ptr<const PartPacking> Packing(size_t docs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> counts(docs);
  for (uint32_t& c : counts) c = static_cast<uint32_t>(rng() % 50);
  return std::make_shared<const PartPacking>(std::move(counts), 64);
}

// Waits (bounded: a build takes milliseconds) until the layout asked for ahead is built.
std::shared_ptr<const PartEpochLayout> WhenBuilt(const LayoutCache::Ahead& ahead) {
  for (int i = 0; i < 30'000; ++i) {
    if (std::shared_ptr<const PartEpochLayout> layout = ahead.layout()) return layout;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return nullptr;
}

void ExpectEqualLayouts(const PartEpochLayout& a, const PartEpochLayout& b, size_t docs) {
  ASSERT_EQ(a.epoch(), b.epoch());
  for (size_t j = 0; j < docs; ++j) {
    ASSERT_EQ(a.DocAt(j), b.DocAt(j)) << j;
    ASSERT_EQ(a.CountAt(j), b.CountAt(j)) << j;
  }
}

// A layout built ahead is the one Get returns afterwards (not built again), equal to a layout
// built alone; readers asking for the same one ahead share what keeps it.
TEST(LayoutCache, ALayoutBuiltAheadIsTheOneGetReturns) {
  constexpr size_t kDocs = 100'000;
  const auto packing = Packing(kDocs, 1);
  LayoutCache layouts(/*keep_recent=*/1);
  const std::shared_ptr<LayoutCache::Ahead> ahead = layouts.BuildAhead(packing, 7, 3);
  ASSERT_NE(ahead, nullptr);
  EXPECT_EQ(layouts.BuildAhead(packing, 7, 3), ahead);
  std::weak_ptr<const PartEpochLayout> built = WhenBuilt(*ahead);
  ASSERT_FALSE(built.expired());
  // Other layouts pass through the one recent slot; the one held ahead stays.
  layouts.Get(packing, 7, 4);
  layouts.Get(packing, 8, 3);
  ASSERT_FALSE(built.expired());
  const std::shared_ptr<const PartEpochLayout> got = layouts.Get(packing, 7, 3);
  EXPECT_EQ(got, built.lock());
  ExpectEqualLayouts(*got, PartEpochLayout(*packing, 7, 3), kDocs);
}

// A layout built ahead and never asked for lives as long as what holds it, not among the
// recent ones; one a reader got stays among them.
TEST(LayoutCache, ALayoutBuiltAheadAndNeverUsedIsFreedWithWhatHoldsIt) {
  const auto packing = Packing(10'000, 5);
  LayoutCache layouts(/*keep_recent=*/64);
  std::shared_ptr<LayoutCache::Ahead> ahead = layouts.BuildAhead(packing, 9, 0);
  std::weak_ptr<const PartEpochLayout> built = WhenBuilt(*ahead);
  ASSERT_FALSE(built.expired());
  ahead = nullptr;
  // The builder thread lets go of it right after handing it over.
  for (int i = 0; i < 30'000 && !built.expired(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(built.expired());
  std::weak_ptr<const PartEpochLayout> got = layouts.Get(packing, 9, 1);
  EXPECT_FALSE(got.expired());
}

// Layouts held ahead stay within the budget, except one (which is always built ahead, however
// large); dropping what holds them makes room again.
TEST(LayoutCache, LayoutsHeldAheadStayWithinTheBudget) {
  const auto small = Packing(1'000, 2), large = Packing(50'000, 3);
  // The budget holds two small layouts (12 bytes per document and 8) but not a large one.
  LayoutCache layouts(/*keep_recent=*/0, /*ahead_bytes=*/2 * (12 * 1'000 + 8));
  std::shared_ptr<LayoutCache::Ahead> first = layouts.BuildAhead(large, 1, 0);
  ASSERT_NE(first, nullptr) << "one is always built ahead";
  EXPECT_EQ(layouts.BuildAhead(small, 1, 0), nullptr) << "over the budget with the large one";
  first = nullptr;
  std::shared_ptr<LayoutCache::Ahead> a = layouts.BuildAhead(small, 1, 0);
  std::shared_ptr<LayoutCache::Ahead> b = layouts.BuildAhead(small, 1, 1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(layouts.BuildAhead(small, 1, 2), nullptr);
  ASSERT_NE(WhenBuilt(*a), nullptr);
  ASSERT_NE(WhenBuilt(*b), nullptr);
  ExpectEqualLayouts(*WhenBuilt(*b), PartEpochLayout(*small, 1, 1), 1'000);
  b = nullptr;
  EXPECT_NE(layouts.BuildAhead(small, 1, 2), nullptr);
}

// Destroying the cache with builds asked for and not done waits for the one being built and
// drops the others: what holds them outlives the cache, with its layout if it was built.
TEST(LayoutCache, IsDestroyedWithBuildsPending) {
  const auto packing = Packing(200'000, 4);
  std::vector<std::shared_ptr<LayoutCache::Ahead>> held;
  {
    LayoutCache layouts(/*keep_recent=*/4, /*ahead_bytes=*/size_t{1} << 30);
    for (uint64_t e = 0; e < 8; ++e) held.push_back(layouts.BuildAhead(packing, 5, e));
  }
  for (uint64_t e = 0; e < held.size(); ++e) {
    ASSERT_NE(held[e], nullptr);
    if (const auto layout = held[e]->layout()) {
      ExpectEqualLayouts(*layout, PartEpochLayout(*packing, 5, e), 200'000);
    }
  }
}

}  // namespace
}  // namespace shardstream
