#include "server/original_table.h"

#include <sys/mman.h>

#include <new>

namespace shardstream {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Zeroed memory for `bytes`, in huge pages where the kernel has them (a hint: without, the
// table works the same in small pages).
void* MapZeroed(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  if (bytes >= kHugePage) ::madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

}  // namespace

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
  if (slots_ != nullptr) ::munmap(slots_, memory_bytes());
  slots_ = nullptr;
  capacity_ = size_ = 0;
}

void OriginalTable::Rehash(size_t capacity, uint64_t end) {
  Slot* const old = slots_;
  const size_t old_capacity = capacity_, old_bytes = memory_bytes();
  slots_ = static_cast<Slot*>(MapZeroed(capacity * sizeof(Slot)));
  capacity_ = capacity;
  size_ = 0;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (old[i].id_plus_one == 0 || old[i].id_plus_one - 1 >= end) continue;
    Probe(old[i].hash) = old[i];
    ++size_;
  }
  if (old != nullptr) ::munmap(old, old_bytes);
}

}  // namespace shardstream
