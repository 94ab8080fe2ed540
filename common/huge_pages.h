// Memory for large arrays read at random (a selection's per-document pointers, epoch layouts,
// the dedup index's table) in 2 MiB pages where the kernel gives them (transparent huge pages on
// madvise): one TLB entry covers 512 times the memory, and a random read into a table of
// megabytes stops costing a page walk (several memory reads, more under a hypervisor).
#ifndef SHARDSTREAM_COMMON_HUGE_PAGES_H_
#define SHARDSTREAM_COMMON_HUGE_PAGES_H_

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace shardstream {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Like mmap(nullptr, bytes, prot, flags, fd, 0) (flags without MAP_FIXED), but at a huge page
// boundary: the kernel backs only whole aligned 2 MiB ranges with huge pages, anonymous memory
// and file pages alike. MAP_FAILED, with errno set, when it cannot map.
void* MapAtHugePageBoundary(size_t bytes, int prot, int flags, int fd);

// Zeroed memory of `bytes` (> 0) mapped on its own; from a huge page on, it starts at a huge page
// boundary and its whole huge pages are asked for (a hint: without them it works the same in
// small pages). Throws std::bad_alloc when the system has no memory left, like operator new.
void* MapHugePages(size_t bytes);
// Unmaps what MapHugePages(bytes) returned.
void UnmapHugePages(void* p, size_t bytes);

// Like MapHugePages, but the memory may be an array given back before (of the same size), with
// what it held: no page faults and no zeroing, which for a fresh huge page cost the kernel (and,
// in a VM, the hypervisor) about as much as building an epoch layout in it.
void* TakeHugePages(size_t bytes);
// Gives back what TakeHugePages(bytes) returned: kept for a next Take of the same size while
// those kept add up to kKeptHugePageBytes (the oldest unmapped first), unmapped otherwise.
void GiveBackHugePages(void* p, size_t bytes);
inline constexpr size_t kKeptHugePageBytes = size_t{32} << 20;

// A std::allocator that puts arrays of a huge page or more in TakeHugePages (given back when
// freed: an array freed and made again at the same size, like an epoch layout's, reuses its
// pages), smaller ones on the heap. Elements made without a value are default-initialized, not
// zeroed: `resize(n)` of a vector of numbers leaves them indeterminate (for arrays written whole
// after, so that a layout of megabytes is not written twice).
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) {
    if (n * sizeof(T) < kHugePageBytes) return std::allocator<T>().allocate(n);
    return static_cast<T*>(TakeHugePages(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePageBytes) return std::allocator<T>().deallocate(p, n);
    GiveBackHugePages(p, n * sizeof(T));
  }
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_HUGE_PAGES_H_
