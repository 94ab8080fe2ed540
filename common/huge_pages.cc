#include "common/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <new>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace shardstream {

void* MapAtHugePageBoundary(size_t bytes, int prot, int flags, int fd) {
  // A reservation a huge page longer than needed, the mapping put over its first boundary, and
  // the reservation's ends that the mapping does not cover given back.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (bytes + page - 1) / page * page;
  const size_t reserved = size + kHugePageBytes;
  void* r = ::mmap(nullptr, reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) return MAP_FAILED;
  const auto base = reinterpret_cast<uintptr_t>(r);
  const uintptr_t start = (base + kHugePageBytes - 1) & ~uintptr_t{kHugePageBytes - 1};
  void* map = ::mmap(reinterpret_cast<void*>(start), bytes, prot, flags | MAP_FIXED, fd, 0);
  if (map == MAP_FAILED) {
    const int error = errno;
    ::munmap(r, reserved);
    errno = error;
    return MAP_FAILED;
  }
  if (start > base) ::munmap(r, start - base);
  const uintptr_t end = start + size, reserved_end = base + reserved;
  if (reserved_end > end) ::munmap(reinterpret_cast<void*>(end), reserved_end - end);
  return map;
}

void* MapHugePages(size_t bytes) {
  if (bytes < kHugePageBytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  void* p = MapAtHugePageBoundary(bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  if (p == MAP_FAILED) throw std::bad_alloc();
  // Huge pages for the whole ones only: a last partial one stays in small pages, so that no
  // more than `bytes` becomes resident.
  ::madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  return p;
}

void UnmapHugePages(void* p, size_t bytes) { ::munmap(p, bytes); }

namespace {

// Freed arrays kept for the next of the same size.
struct KeptPages {
  absl::Mutex mu;
  std::deque<std::pair<void*, size_t>> kept ABSL_GUARDED_BY(mu);  // oldest first
  size_t bytes ABSL_GUARDED_BY(mu) = 0;
};

KeptPages& Kept() {
  static KeptPages* const kept = new KeptPages;
  return *kept;
}

}  // namespace

void* TakeHugePages(size_t bytes) {
  KeptPages& k = Kept();
  {
    absl::MutexLock lock(&k.mu);
    for (auto it = k.kept.rbegin(); it != k.kept.rend(); ++it) {
      if (it->second == bytes) {
        void* p = it->first;
        k.kept.erase(std::next(it).base());
        k.bytes -= bytes;
        return p;
      }
    }
  }
  return MapHugePages(bytes);
}

void GiveBackHugePages(void* p, size_t bytes) {
  if (bytes > kKeptHugePageBytes) return UnmapHugePages(p, bytes);
  std::deque<std::pair<void*, size_t>> unmap;
  KeptPages& k = Kept();
  {
    absl::MutexLock lock(&k.mu);
    while (k.bytes + bytes > kKeptHugePageBytes) {
      unmap.push_back(k.kept.front());
      k.bytes -= k.kept.front().second;
      k.kept.pop_front();
    }
    k.kept.emplace_back(p, bytes);
    k.bytes += bytes;
  }
  for (const auto& [q, n] : unmap) UnmapHugePages(q, n);
}

}  // namespace shardstream
