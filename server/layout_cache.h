// Epoch layouts shared between the streams and calls that read the same part epoch (at any
// seq_len: a layout depends on the token counts, the order key and the epoch), so a server
// holds one copy (12 bytes per document) however many clients read it; and the next epoch's
// layout built ahead, on a thread of the cache's own, so that a stream reaching a new epoch
// does not stop for it (~20 ns per document per thread).
#ifndef SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
#define SHARDSTREAM_SERVER_LAYOUT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/part_packing.h"
#include "server/shared_cache.h"

namespace shardstream {

// Thread-safe. A layout lives while a reader uses it or holds it ahead, and the `keep_recent`
// last used ones stay built (SharedCache); one built ahead and never used is not among them.
class LayoutCache {
 public:
  // Layouts built ahead and held count against `ahead_bytes` (12 bytes per document each),
  // except the first: one is always built ahead, however large.
  explicit LayoutCache(size_t keep_recent = 64, size_t ahead_bytes = size_t{32} << 20);
  // Waits for the layout being built ahead, if any.
  ~LayoutCache();

  // Built outside any lock, so other parts' readers need not wait, and once: the readers of
  // the same part epoch that ask while it is built (here or ahead) wait for it.
  std::shared_ptr<const PartEpochLayout> Get(const std::shared_ptr<const PartPacking>& packing,
                                             uint64_t order_key, uint64_t epoch) {
    return Get(packing, order_key, epoch, /*recent=*/true);
  }

  // A layout asked for ahead: built in the background, then kept built while this is held.
  class Ahead {
   public:
    ~Ahead();
    // Null until built.
    std::shared_ptr<const PartEpochLayout> layout() const ABSL_LOCKS_EXCLUDED(mu_);

   private:
    friend class LayoutCache;
    Ahead(std::shared_ptr<std::atomic<size_t>> held, size_t bytes);
    const std::shared_ptr<std::atomic<size_t>> held_;  // the cache's count, which it joins
    const size_t bytes_;
    mutable absl::Mutex mu_;
    std::shared_ptr<const PartEpochLayout> layout_ ABSL_GUARDED_BY(mu_);
  };
  // Starts building the layout of (packing, order_key, epoch) in the background and returns
  // what keeps it once built (the same for every reader asking for it while one holds it);
  // null when the layouts held ahead already fill `ahead_bytes`, and then the reader builds it
  // when it gets there, as without.
  std::shared_ptr<Ahead> BuildAhead(const std::shared_ptr<const PartPacking>& packing,
                                    uint64_t order_key, uint64_t epoch)
      ABSL_LOCKS_EXCLUDED(ahead_mu_);

 private:
  // Packings of the same counts (at other seq_lens) share their layouts.
  using Key = std::tuple<const std::vector<uint32_t>*, uint64_t, uint64_t>;
  struct Task {
    std::shared_ptr<const PartPacking> packing;
    uint64_t order_key;
    uint64_t epoch;
    std::weak_ptr<Ahead> ahead;  // expired: nobody wants it any more, not built
  };
  // `recent`: among the keep_recent last used (not for a layout built ahead, which lives as
  // long as it is held, until a reader gets it).
  std::shared_ptr<const PartEpochLayout> Get(const std::shared_ptr<const PartPacking>& packing,
                                             uint64_t order_key, uint64_t epoch, bool recent);
  void BuildTasks() ABSL_LOCKS_EXCLUDED(ahead_mu_);
  bool HasTaskOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(ahead_mu_) {
    return stop_ || !tasks_.empty();
  }

  const int threads_;  // per layout build
  const size_t ahead_bytes_;
  SharedCache<Key, PartEpochLayout> cache_;
  const std::shared_ptr<std::atomic<size_t>> held_ahead_ = std::make_shared<std::atomic<size_t>>(0);
  absl::Mutex ahead_mu_;
  std::map<Key, std::weak_ptr<Ahead>> ahead_ ABSL_GUARDED_BY(ahead_mu_);
  std::deque<Task> tasks_ ABSL_GUARDED_BY(ahead_mu_);
  bool stop_ ABSL_GUARDED_BY(ahead_mu_) = false;
  std::thread builder_ ABSL_GUARDED_BY(ahead_mu_);  // started by the first BuildAhead
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
