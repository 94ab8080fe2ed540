// Epoch layouts shared between the streams and calls that read the same part epoch (at any
// seq_len: a layout depends on the token counts, the order key and the epoch), so a server
// holds one copy (12 bytes per document) however many clients read it.
#ifndef SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
#define SHARDSTREAM_SERVER_LAYOUT_CACHE_H_

#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "common/part_packing.h"
#include "server/shared_cache.h"

namespace shardstream {

// Thread-safe. A layout lives while a reader uses it, and the `keep_recent` last used ones stay
// built (SharedCache), except those of epochs more than kKeptEpochsBehind behind an epoch of the
// same part and order key being built (let go before it is built): a part's readers move through
// its epochs about in step (the ranks of a job read the same global batches), so those are seldom
// read again, and their memory is better used by the next epoch's layout (TakeHugePages: no page
// faults, no zeroing) than kept one layout per epoch read.
class LayoutCache {
 public:
  explicit LayoutCache(size_t keep_recent = 64);
  static constexpr uint64_t kKeptEpochsBehind = 1;

  // Built outside any lock, so other parts' readers need not wait, and once: the readers of
  // the same part epoch that ask while it is built wait for it.
  std::shared_ptr<const PartEpochLayout> Get(const std::shared_ptr<const PartPacking>& packing,
                                             uint64_t order_key, uint64_t epoch);

 private:
  // Packings of the same counts (at other seq_lens) share their layouts.
  using Key = std::tuple<const std::vector<uint32_t>*, uint64_t, uint64_t>;
  const int threads_;  // per layout build
  SharedCache<Key, PartEpochLayout> cache_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
