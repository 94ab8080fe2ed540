// Each text's original (the id of its first document) by the text's 128-bit content hash, for
// the texts an index run has added since the dedup family was last written.
//
// Open addressing with linear probing from the hash's low bits (content hashes are uniform),
// each slot holding the hash and the id together, at most half full: a probe, found or not,
// costs about one cache miss. absl::flat_hash_map keeps control bytes apart from the slots, so
// a probe costs two; with one probe per document into a table of tens of MB, that was the
// largest single cost of indexing tiny documents (~15% of the CPU). The slots are mapped
// memory asking for transparent huge pages: in 4 KiB pages, a probe into tens of MB also
// misses the TLB and walks the page tables.
#ifndef SHARDSTREAM_SERVER_ORIGINAL_TABLE_H_
#define SHARDSTREAM_SERVER_ORIGINAL_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/hash128.h"

namespace shardstream {

// Not thread-safe.
class OriginalTable {
 public:
  OriginalTable() = default;
  ~OriginalTable();
  OriginalTable(const OriginalTable&) = delete;
  OriginalTable& operator=(const OriginalTable&) = delete;

  // The original held for `hash`; when there is none, inserts `id` as it (`inserted`).
  struct Found {
    uint64_t original;
    bool inserted;
  };
  Found FindOrInsert(const Hash128& hash, uint64_t id);
  // Replaces the original of held `hash`.
  void SetOriginal(const Hash128& hash, uint64_t original);
  std::optional<uint64_t> Find(const Hash128& hash) const;
  // Starts loading the slot where a probe for `hash` begins.
  void Prefetch(const Hash128& hash) const {
    if (capacity_ > 0) __builtin_prefetch(&slots_[static_cast<size_t>(hash.lo) & (capacity_ - 1)]);
  }
  // Forgets the texts whose original is `first` or later.
  void EraseFrom(uint64_t first);
  // Forgets everything and frees the slots.
  void Clear();

  size_t size() const { return size_; }
  size_t memory_bytes() const { return capacity_ * sizeof(Slot); }

 private:
  struct Slot {
    Hash128 hash;
    uint64_t id_plus_one;  // 0: empty (fresh mapped memory is zeros)
  };
  // The slot holding `hash`, or the empty one where it would go.
  Slot& Probe(const Hash128& hash) const;
  // Moves the slots whose original is below `end` to a new mapping of `capacity` (a power of
  // two).
  void Rehash(size_t capacity, uint64_t end = UINT64_MAX);

  Slot* slots_ = nullptr;  // `capacity_` of them, mapped
  size_t capacity_ = 0;
  size_t size_ = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_ORIGINAL_TABLE_H_
