#include "server/original_table.h"

#include "common/huge_pages.h"

namespace shardstream {

OriginalTable::~OriginalTable() { Clear(); }

OriginalTable::Slot& OriginalTable::Probe(const Hash128& hash) const {
  const size_t mask = capacity_ - 1;
  for (size_t i = static_cast<size_t>(hash.lo) & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.id_plus_one == 0 || slot.hash == hash) return slot;
  }
}

OriginalTable::Found OriginalTable::FindOrInsert(const Hash128& hash, uint64_t id) {
  // At most half full: probes stay short and always end at an empty slot.
  if (2 * (size_ + 1) > capacity_) Rehash(capacity_ == 0 ? 1024 : 2 * capacity_);
  Slot& slot = Probe(hash);
  const bool inserted = slot.id_plus_one == 0;
  if (inserted) {
    slot.hash = hash;
    slot.id_plus_one = id + 1;
    ++size_;
  }
  return Found{slot.id_plus_one - 1, inserted};
}

void OriginalTable::SetOriginal(const Hash128& hash, uint64_t original) {
  Slot& slot = Probe(hash);
  if (slot.id_plus_one != 0) slot.id_plus_one = original + 1;
}

std::optional<uint64_t> OriginalTable::Find(const Hash128& hash) const {
  if (capacity_ == 0) return std::nullopt;
  const Slot& slot = Probe(hash);
  if (slot.id_plus_one == 0) return std::nullopt;
  return slot.id_plus_one - 1;
}

void OriginalTable::EraseFrom(uint64_t first) {
  // Rare (an add that failed): rebuilt from the slots kept, so probe runs stay unbroken.
  if (capacity_ > 0) Rehash(capacity_, first);
}

void OriginalTable::Clear() {
  if (slots_ != nullptr) UnmapHugePages(slots_, memory_bytes());
  slots_ = nullptr;
  capacity_ = size_ = 0;
}

void OriginalTable::Rehash(size_t capacity, uint64_t end) {
  Slot* const old = slots_;
  const size_t old_capacity = capacity_, old_bytes = memory_bytes();
  slots_ = static_cast<Slot*>(MapHugePages(capacity * sizeof(Slot)));
  capacity_ = capacity;
  size_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].id_plus_one == 0 || old[i].id_plus_one - 1 >= end) continue;
    Probe(old[i].hash) = old[i];
    ++size_;
  }
  if (old != nullptr) UnmapHugePages(old, old_bytes);
}

}  // namespace shardstream
