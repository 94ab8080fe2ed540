#include "common/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

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

}  // namespace shardstream
