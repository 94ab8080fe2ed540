#include "common/permutation.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// AtLanes is At of each lane, at sizes where cycle walking is rare (just under a power of 4),
// common (just over one: up to 3/4 of the domain is walked out of) and everywhere in between,
// and at every start, the last lanes of the range included.
TEST(Permutation, AtLanesIsAtOfEachPosition) {
  std::mt19937_64 rng(11);
  for (const uint64_t n : {uint64_t{8}, uint64_t{9}, uint64_t{63}, uint64_t{65}, uint64_t{1000},
                           uint64_t{1} << 16, (uint64_t{1} << 16) + 1, uint64_t{3'000'017}}) {
    const Permutation order(n, rng());
    const uint64_t starts = std::min<uint64_t>(n - Permutation::kLanes + 1, 20'000);
    uint64_t lanes[Permutation::kLanes];
    for (uint64_t s = 0; s < starts; ++s) {
      // Every start of small sizes; spread over the range, and its end, for large ones.
      const uint64_t first = s + 1 == starts
                                 ? n - Permutation::kLanes
                                 : (n <= 20'000 ? s : rng() % (n - Permutation::kLanes));
      order.AtLanes(first, lanes);
      for (int l = 0; l < Permutation::kLanes; ++l) {
        ASSERT_EQ(lanes[l], order.At(first + l))
            << "n=" << n << " first=" << first << " lane=" << l;
      }
    }
  }
}

// Each size's permutation is a bijection of [0, n).
TEST(Permutation, IsABijection) {
  for (const uint64_t n :
       {uint64_t{1}, uint64_t{2}, uint64_t{5}, uint64_t{17}, uint64_t{4096}, uint64_t{100'003}}) {
    const Permutation order(n, n * 31);
    std::vector<bool> seen(n);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t x = order.At(i);
      ASSERT_LT(x, n);
      ASSERT_FALSE(seen[x]) << "n=" << n << " i=" << i;
      seen[x] = true;
    }
  }
}

}  // namespace
}  // namespace shardstream
