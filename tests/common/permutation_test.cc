#include "common/permutation.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// The permutation as permutation.h documents it, computed from its definition (no tables): six
// Feistel rounds F(right) = Mix64(right ^ round key) on halves of the smallest even bit width
// holding n, round keys chained by Mix64 from the key, and cycle walking back into [0, n).
uint64_t DefinedAt(uint64_t n, uint64_t key, uint64_t i) {
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) bits += 2;
  const int half = bits / 2;
  const uint64_t mask = (uint64_t{1} << half) - 1;
  uint64_t round_keys[6];
  uint64_t k = Mix64(key ^ 0x5368617264537472ULL);
  for (uint64_t& rk : round_keys) rk = k = Mix64(k);
  auto encrypt = [&](uint64_t x) {
    uint64_t left = x >> half, right = x & mask;
    for (const uint64_t rk : round_keys) {
      const uint64_t next = left ^ (Mix64(right ^ rk) & mask);
      left = right;
      right = next;
    }
    return (left << half) | right;
  };
  uint64_t x = encrypt(i);
  while (x >= n) x = encrypt(x);
  return x;
}

// The stream order is a promise across versions: At and AtLanes compute the defined function,
// with the round tables (halves of up to kMostTableBits bits, the largest table included) and
// without them (wider halves).
TEST(Permutation, IsTheDefinedFeistelNetworkWithOrWithoutRoundTables) {
  std::mt19937_64 rng(5);
  const uint64_t largest_tabulated = uint64_t{1} << (2 * Permutation::kMostTableBits);
  for (const uint64_t n :
       {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{1000}, (uint64_t{1} << 20) + 3,
        largest_tabulated - 5, largest_tabulated, largest_tabulated + 7}) {
    const uint64_t key = rng();
    const Permutation order(n, key);
    for (int s = 0; s < 3000; ++s) {
      const uint64_t i = s < 8 ? std::min<uint64_t>(s, n - 1) : rng() % n;
      ASSERT_EQ(order.At(i), DefinedAt(n, key, i)) << "n=" << n << " i=" << i;
      if (n < Permutation::kLanes) continue;
      uint64_t lanes[Permutation::kLanes];
      const uint64_t first = std::min(i, n - Permutation::kLanes);
      order.AtLanes(first, lanes);
      for (int l = 0; l < Permutation::kLanes; ++l) {
        ASSERT_EQ(lanes[l], DefinedAt(n, key, first + l)) << "n=" << n << " first=" << first;
      }
    }
  }
}

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
