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

// Unheld layouts stay built for those who come back, except those of epochs more than one
// behind an epoch of their part and order key that is built; held ones live on; other order
// keys are not touched.
TEST(LayoutCache, ForgetsUnheldEpochsMoreThanOneBehindTheNewest) {
  const auto packing = Packing();
  const uint64_t key = PartOrderKey(1, PartKey{"src", 0});
  const uint64_t other_key = PartOrderKey(2, PartKey{"src", 0});
  LayoutCache layouts;
  const std::weak_ptr<const PartEpochLayout> epoch0 = layouts.Get(packing, key, 0);
  const std::weak_ptr<const PartEpochLayout> other0 = layouts.Get(packing, other_key, 0);
  const std::weak_ptr<const PartEpochLayout> epoch1 = layouts.Get(packing, key, 1);
  EXPECT_FALSE(epoch0.expired());                          // one behind: kept
  EXPECT_EQ(layouts.Get(packing, key, 0), epoch0.lock());  // and found again
  const std::shared_ptr<const PartEpochLayout> held2 = layouts.Get(packing, key, 2);
  EXPECT_TRUE(epoch0.expired());
  EXPECT_FALSE(epoch1.expired());
  EXPECT_FALSE(other0.expired());
  const std::weak_ptr<const PartEpochLayout> epoch9 = layouts.Get(packing, key, 9);
  EXPECT_TRUE(epoch1.expired());
  EXPECT_EQ(layouts.Get(packing, key, 2), held2);  // held: alive, and still the cache's entry
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

}  // namespace
}  // namespace shardstream
