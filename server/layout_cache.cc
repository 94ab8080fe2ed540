#include "server/layout_cache.h"

namespace shardstream {

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  return *cache_.GetOrBuild(Key{packing.get(), order_key, epoch}, [&] {
    return absl::StatusOr<std::shared_ptr<const PartEpochLayout>>(
        std::make_shared<const PartEpochLayout>(packing, order_key, epoch));
  });
}

}  // namespace shardstream
