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
// built (SharedCache), except that a new epoch's build first lets go of the unheld layouts of its
// part and order key that no reader is still to read: those more than kKeptEpochsBehind behind
// the oldest epoch held (a part's readers move through its epochs forward), and, of the others,
// all but the kKeptUnheldEpochs newest. Their memory is the next layout's (TakeHugePages: no page
// faults, no zeroing). The unheld epochs between the readers of a part stay, so readers that fall
// behind (the ranks of a job that read at different speeds) do not build them again.
class LayoutCache {
 public:
  explicit LayoutCache(size_t keep_recent = 64);
  static constexpr uint64_t kKeptEpochsBehind = 1;
  static constexpr size_t kKeptUnheldEpochs = 8;  // per part and order key

  // Built outside any lock, so other parts' readers need not wait, and once: the readers of
  // the same part epoch that ask while it is built wait for it.
  std::shared_ptr<const PartEpochLayout> Get(const std::shared_ptr<const PartPacking>& packing,
                                             uint64_t order_key, uint64_t epoch);

  // The layouts alive (held, or kept for those who come back) and their memory.
  struct Stats {
    size_t layouts = 0;
    uint64_t bytes = 0;
  };
  Stats stats() const;
  // The layouts every LayoutCache of the process has built (a counter: a rising rate with no
  // new epochs read means layouts are built again, readers spread over more epochs than kept).
  static uint64_t BuiltInProcess();

 private:
  // Packings of the same counts (at other seq_lens) share their layouts.
  using Key = std::tuple<const std::vector<uint32_t>*, uint64_t, uint64_t>;
  using Cache = SharedCache<Key, PartEpochLayout>;

  // Of the `live` layouts, the unheld ones of `counts` and `order_key` to let go before `epoch`
  // is built.
  static std::vector<Key> Unneeded(const std::vector<Cache::Live>& live,
                                   const std::vector<uint32_t>* counts, uint64_t order_key,
                                   uint64_t epoch);

  const int threads_;  // per layout build
  Cache cache_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_LAYOUT_CACHE_H_
