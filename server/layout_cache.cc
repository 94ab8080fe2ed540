#include "server/layout_cache.h"

namespace shardstream {

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  const Key key{packing.get(), order_key, epoch};
  if (auto layout = cache_.Find(key)) return layout;
  auto layout = std::make_shared<const PartEpochLayout>(packing, order_key, epoch);
  cache_.Insert(key, layout);
  return layout;
}

}  // namespace shardstream
