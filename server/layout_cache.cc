#include "server/layout_cache.h"

#include "common/ordered_parallel.h"

namespace shardstream {
namespace {

// The most threads one layout build uses.
constexpr int kBuildThreads = 8;

}  // namespace

LayoutCache::LayoutCache(size_t keep_recent)
    : threads_(ThreadsUpTo(kBuildThreads)), cache_(keep_recent) {}

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  const std::vector<uint32_t>* counts = &packing->counts();
  return *cache_.GetOrBuild(Key{counts, order_key, epoch}, [&] {
    // Before the build: the arrays of the layouts that go are the ones it takes.
    cache_.ForgetRecentIf([&](const Key& key) {
      return std::get<0>(key) == counts && std::get<1>(key) == order_key &&
             std::get<2>(key) + kKeptEpochsBehind < epoch;
    });
    return absl::StatusOr<std::shared_ptr<const PartEpochLayout>>(
        std::make_shared<const PartEpochLayout>(*packing, order_key, epoch, threads_));
  });
}

}  // namespace shardstream
