#include "common/huge_pages.h"

#include <cstdint>
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

}  // namespace
}  // namespace shardstream
