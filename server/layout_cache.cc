#include "server/layout_cache.h"

#include <algorithm>
#include <atomic>
#include <functional>

#include "server/usable_cores.h"

namespace shardstream {
namespace {

// The most threads one layout build uses.
constexpr int kBuildThreads = 8;

std::atomic<uint64_t> built_in_process{0};

}  // namespace

std::vector<LayoutCache::Key> LayoutCache::Unneeded(const std::vector<Cache::Live>& live,
                                                    const std::vector<uint32_t>* counts,
                                                    uint64_t order_key, uint64_t epoch) {
  // The oldest epoch a reader of this part and order key is in, and the epochs nobody holds.
  uint64_t oldest_read = epoch;
  std::vector<uint64_t> unheld;
  for (const Cache::Live& entry : live) {
    const auto& [entry_counts, entry_key, entry_epoch] = entry.key;
    if (entry_counts != counts || entry_key != order_key) continue;
    if (entry.held) {
      oldest_read = std::min(oldest_read, entry_epoch);
    } else {
      unheld.push_back(entry_epoch);
    }
  }
  // Newest first: past kKeptUnheldEpochs, the oldest of those still to be read go.
  std::sort(unheld.begin(), unheld.end(), std::greater<>());
  std::vector<Key> gone;
  size_t kept = 0;
  for (uint64_t e : unheld) {
    const bool still_read = e + kKeptEpochsBehind >= oldest_read;
    if (still_read && kept < kKeptUnheldEpochs) {
      ++kept;
    } else {
      gone.push_back(Key{counts, order_key, e});
    }
  }
  return gone;
}

LayoutCache::LayoutCache(size_t keep_recent)
    : threads_(ThreadsUpTo(kBuildThreads)), cache_(keep_recent) {}

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  const std::vector<uint32_t>* counts = &packing->counts();
  return *cache_.GetOrBuild(Key{counts, order_key, epoch}, [&] {
    // Before the build: the arrays of the layouts that go are the ones it takes.
    cache_.ForgetRecent([&](const std::vector<Cache::Live>& live) {
      return Unneeded(live, counts, order_key, epoch);
    });
    built_in_process.fetch_add(1, std::memory_order_relaxed);
    return absl::StatusOr<std::shared_ptr<const PartEpochLayout>>(
        std::make_shared<const PartEpochLayout>(*packing, order_key, epoch, threads_));
  });
}

LayoutCache::Stats LayoutCache::stats() const {
  Stats stats;
  cache_.ForEachLive([&](const PartEpochLayout& layout) {
    ++stats.layouts;
    stats.bytes += layout.MemoryBytes();
  });
  return stats;
}

uint64_t LayoutCache::BuiltInProcess() { return built_in_process.load(std::memory_order_relaxed); }

}  // namespace shardstream
