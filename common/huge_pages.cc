#include "common/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <new>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace shardstream {

void* MapHugePages(size_t bytes) {
  if (bytes < kHugePageBytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  // A huge page more than needed, then the ends trimmed, so that the memory starts on a
  // boundary (the kernel backs only whole aligned 2 MiB ranges with huge pages).
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (bytes + page - 1) / page * page;
  const size_t mapped = size + kHugePageBytes;
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  char* const start = static_cast<char*>(p);
  const size_t head =
      (kHugePageBytes - reinterpret_cast<uintptr_t>(start) % kHugePageBytes) % kHugePageBytes;
  if (head > 0) ::munmap(start, head);
  ::munmap(start + head + size, mapped - head - size);  // at least a page: page <= 2 MiB
  // Huge pages for the whole ones only: a last partial one stays in small pages, so that no
  // more than `bytes` becomes resident.
  ::madvise(start + head, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  return start + head;
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
