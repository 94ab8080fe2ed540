#include "common/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// Below a huge page, above, and not a whole number of pages: zeroed, every byte writable and
// kept, and from a huge page on aligned to one (what lets the kernel back it with huge pages).
TEST(HugePages, MapsZeroedWritableMemoryAlignedFromAHugePageOn) {
  for (const size_t bytes :
       {size_t{1}, size_t{4096}, kHugePageBytes - 1, kHugePageBytes, 3 * kHugePageBytes + 12'345}) {
    auto* p = static_cast<unsigned char*>(MapHugePages(bytes));
    if (bytes >= kHugePageBytes) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePageBytes, 0u) << bytes;
    }
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(p[i], 0) << bytes << " at " << i;
    for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(i * 7);
    for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(i * 7));
    UnmapHugePages(p, bytes);
  }
}

// A file mapped at a huge page boundary reads as the file, and the reservation around it is
// given back whole: the pages just before and just after the mapping are not mapped.
TEST(HugePages, MapsAFileAtABoundaryAndLeavesNothingAround) {
  char path[] = "/tmp/huge_pages_test_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  const size_t bytes = 3 * kHugePageBytes + 12'345;
  std::string content(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) content[i] = static_cast<char>(i * 31 + i / 4096);
  ASSERT_EQ(::write(fd, content.data(), bytes), static_cast<ssize_t>(bytes));
  void* map = MapAtHugePageBoundary(bytes, PROT_READ, MAP_SHARED, fd);
  ::close(fd);
  ASSERT_NE(map, MAP_FAILED);
  auto* p = static_cast<char*>(map);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePageBytes, 0u);
  EXPECT_EQ(std::string_view(p, bytes), content);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t mapped = (bytes + page - 1) / page * page;
  EXPECT_EQ(::msync(p, mapped, MS_ASYNC), 0);
  // msync fails with ENOMEM on a range that is not mapped.
  EXPECT_NE(::msync(p - page, page, MS_ASYNC), 0);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_NE(::msync(p + mapped, page, MS_ASYNC), 0);
  EXPECT_EQ(errno, ENOMEM);
  ::munmap(map, bytes);
  // A mapping that cannot be made fails as mmap does, and leaves no reservation either.
  errno = 0;
  EXPECT_EQ(MapAtHugePageBoundary(bytes, PROT_READ, MAP_SHARED, -1), MAP_FAILED);
  EXPECT_EQ(errno, EBADF);
}

// A vector growing past a huge page (heap, then mapped memory) keeps its elements, and so do
// copies and moves between the two kinds of memory.
TEST(HugePages, AVectorGrowingAcrossTheThresholdKeepsItsElements) {
  HugePageVector<uint64_t> v;
  const size_t n = 3 * kHugePageBytes / sizeof(uint64_t) + 5;
  for (size_t i = 0; i < n; ++i) v.push_back(i * i);
  EXPECT_GE(v.capacity() * sizeof(uint64_t), kHugePageBytes);
  HugePageVector<uint64_t> copy = v;
  HugePageVector<uint64_t> small(v.begin(), v.begin() + 10);
  small = std::move(copy);
  ASSERT_EQ(small.size(), n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(small[i], i * i) << i;
  small.resize(3);
  small.shrink_to_fit();
  EXPECT_EQ(small, (HugePageVector<uint64_t>{0, 1, 4}));
  // Grown without values from nothing to mapped memory: zero (fresh pages), then written whole.
  HugePageVector<uint32_t> fresh;
  fresh.resize(kHugePageBytes);
  for (uint32_t x : fresh) ASSERT_EQ(x, 0u);
}

// What is given back is taken again by the next Take of its size, as it was (no fault, no
// zeroing: the point), not by a Take of another size; once more than kKeptHugePageBytes is
// given back, the oldest is unmapped.
TEST(HugePages, GivenBackPagesAreTakenAgainBySize) {
  const size_t bytes = 3 * kHugePageBytes + 4096, other = 2 * kHugePageBytes;
  auto* p = static_cast<unsigned char*>(TakeHugePages(bytes));
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(i * 13);
  GiveBackHugePages(p, bytes);
  auto* q = static_cast<unsigned char*>(TakeHugePages(other));
  EXPECT_NE(q, p);
  auto* again = static_cast<unsigned char*>(TakeHugePages(bytes));
  ASSERT_EQ(again, p);
  for (size_t i = 0; i < bytes; ++i) ASSERT_EQ(again[i], static_cast<unsigned char>(i * 13));
  GiveBackHugePages(q, other);
  GiveBackHugePages(again, bytes);
  // Fill the kept memory with arrays of a third size: the two above go, oldest first.
  const size_t filler = 4 * kHugePageBytes;
  std::vector<void*> fillers;
  for (size_t kept = 0; kept + filler <= kKeptHugePageBytes; kept += filler) {
    fillers.push_back(TakeHugePages(filler));
  }
  for (void* f : fillers) GiveBackHugePages(f, filler);
  // msync fails with ENOMEM on a range that is not mapped.
  EXPECT_NE(::msync(q, other, MS_ASYNC), 0);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_NE(::msync(again, bytes, MS_ASYNC), 0);
  EXPECT_EQ(::msync(fillers.back(), filler, MS_ASYNC), 0);  // kept, so mapped
  std::vector<void*> taken;  // all kept: taken again, the last given back first
  for (size_t i = 0; i < fillers.size(); ++i) taken.push_back(TakeHugePages(filler));
  EXPECT_EQ(taken, std::vector<void*>(fillers.rbegin(), fillers.rend()));
  for (void* f : taken) GiveBackHugePages(f, filler);
}

}  // namespace
}  // namespace shardstream
