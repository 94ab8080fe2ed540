// Epoch layouts shared between the streams and calls that read the same part epoch, so a
// server holds one copy (8 bytes per document) however many clients read it.
#ifndef SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
#define SHARDSTREAM_SERVER_LAYOUT_CACHE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/part_packing.h"

namespace shardstream {

// Thread-safe. A layout lives while a reader uses it, and the `keep_recent` last used ones stay
// built for readers that come back (a client reconnecting, the next request of a window).
class LayoutCache {
 public:
  explicit LayoutCache(size_t keep_recent = 64) : keep_recent_(keep_recent) {}

  std::shared_ptr<const PartEpochLayout> Get(const std::shared_ptr<const PartPacking>& packing,
                                             uint64_t order_key, uint64_t epoch)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Key = std::tuple<const PartPacking*, uint64_t, uint64_t>;
  const size_t keep_recent_;
  absl::Mutex mu_;
  std::map<Key, std::weak_ptr<const PartEpochLayout>> layouts_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const PartEpochLayout>> recent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
