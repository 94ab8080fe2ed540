#include "server/layout_cache.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "common/part_key.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

std::shared_ptr<const PartPacking> Packing() {
  std::vector<uint32_t> counts(5000);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<uint32_t>(i % 7);
  return std::make_shared<const PartPacking>(std::move(counts), 16);
}

// Unheld layouts stay built for those who come back, except those more than one epoch behind
// the oldest epoch a reader of their part and order key holds, let go when a later epoch is
// built; held ones live on; other order keys are not touched.
TEST(LayoutCache, ForgetsUnheldEpochsMoreThanOneBehindTheOldestRead) {
  const auto packing = Packing();
  const uint64_t key = PartOrderKey(1, PartKey{"src", 0});
  const uint64_t other_key = PartOrderKey(2, PartKey{"src", 0});
  LayoutCache layouts;
  const std::weak_ptr<const PartEpochLayout> epoch0 = layouts.Get(packing, key, 0);
  const std::weak_ptr<const PartEpochLayout> other0 = layouts.Get(packing, other_key, 0);
  const std::weak_ptr<const PartEpochLayout> epoch1 = layouts.Get(packing, key, 1);
  EXPECT_FALSE(epoch0.expired());                          // one behind: kept
  EXPECT_EQ(layouts.Get(packing, key, 0), epoch0.lock());  // and found again
  std::shared_ptr<const PartEpochLayout> held2 = layouts.Get(packing, key, 2);
  EXPECT_TRUE(epoch0.expired());  // nobody reads 1 or before: 0 goes
  EXPECT_FALSE(epoch1.expired());
  EXPECT_FALSE(other0.expired());
  const std::weak_ptr<const PartEpochLayout> epoch9 = layouts.Get(packing, key, 9);
  EXPECT_FALSE(epoch1.expired());                  // one behind the reader of 2: kept
  EXPECT_EQ(layouts.Get(packing, key, 2), held2);  // held: alive, and still the cache's entry
  held2.reset();
  const std::shared_ptr<const PartEpochLayout> held10 = layouts.Get(packing, key, 10);
  EXPECT_TRUE(epoch1.expired());  // the oldest read is now 10: 9 stays, 2 and 1 go
  EXPECT_FALSE(epoch9.expired());
  EXPECT_FALSE(other0.expired());
  // An epoch asked for again after it went is built again, the same.
  const auto again0 = layouts.Get(packing, key, 0);
  const PartEpochLayout fresh(*packing, key, 0);
  for (size_t j = 0; j < packing->num_docs(); ++j) {
    ASSERT_EQ(again0->DocAt(j), fresh.DocAt(j)) << j;
    ASSERT_EQ(again0->CountAt(j), fresh.CountAt(j)) << j;
  }
}

// The epochs between a reader that fell behind and the newest stay built for it (the ranks of
// a job reading at different speeds), up to kKeptUnheldEpochs of them, the newest kept.
TEST(LayoutCache, KeepsTheEpochsBetweenItsReadersForThoseBehind) {
  const auto packing = Packing();
  const uint64_t key = PartOrderKey(1, PartKey{"src", 0});
  LayoutCache layouts;
  const std::shared_ptr<const PartEpochLayout> behind = layouts.Get(packing, key, 3);
  std::vector<std::weak_ptr<const PartEpochLayout>> passed;  // epochs 4.. read and let go
  const uint64_t last = 4 + LayoutCache::kKeptUnheldEpochs;  // one more than are kept
  for (uint64_t e = 4; e <= last; ++e) passed.push_back(layouts.Get(packing, key, e));
  for (size_t i = 0; i < passed.size(); ++i) EXPECT_FALSE(passed[i].expired()) << 4 + i;
  const std::shared_ptr<const PartEpochLayout> ahead = layouts.Get(packing, key, last + 1);
  EXPECT_TRUE(passed[0].expired());  // the oldest past the bound goes
  for (size_t i = 1; i < passed.size(); ++i) EXPECT_FALSE(passed[i].expired()) << 4 + i;
  // The reader behind reads on, finding each epoch built.
  for (size_t i = 1; i < passed.size(); ++i) {
    EXPECT_EQ(layouts.Get(packing, key, 4 + i), passed[i].lock()) << 4 + i;
  }
}

// Its layouts alive are those held or kept, with their arrays' bytes; the process counts every
// build, and only builds.
TEST(LayoutCache, StatsCountTheLayoutsAliveAndTheProcessTheBuilds) {
  const auto packing = Packing();
  const uint64_t key = PartOrderKey(1, PartKey{"src", 0});
  const uint64_t built_before = LayoutCache::BuiltInProcess();
  LayoutCache layouts;
  EXPECT_EQ(layouts.stats().layouts, 0u);
  EXPECT_EQ(layouts.stats().bytes, 0u);
  const std::shared_ptr<const PartEpochLayout> held = layouts.Get(packing, key, 0);
  layouts.Get(packing, key, 1);  // kept, unheld
  layouts.Get(packing, key, 0);  // found: no build
  EXPECT_EQ(LayoutCache::BuiltInProcess() - built_before, 2u);
  const LayoutCache::Stats stats = layouts.stats();
  EXPECT_EQ(stats.layouts, 2u);
  EXPECT_EQ(stats.bytes, 2 * held->MemoryBytes());
  EXPECT_GE(held->MemoryBytes(), 12 * packing->num_docs());  // 4 + 8 bytes per document
}

}  // namespace
}  // namespace shardstream
