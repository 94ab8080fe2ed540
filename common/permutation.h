// A seeded pseudo-random permutation of [0, n) that is computed, not stored: O(1) memory and
// O(1) expected time per element. The epoch order of a plan.
#ifndef SHARDSTREAM_COMMON_PERMUTATION_H_
#define SHARDSTREAM_COMMON_PERMUTATION_H_

#include <cstdint>
#include <vector>

namespace shardstream {

// splitmix64's finalizer: a fast, well-mixing bijection on 64-bit integers.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A bijection of [0, n): a balanced Feistel network over the smallest even-bit-width domain
// holding n, with cycle walking back into [0, n) (at most ~4 rounds of walking expected).
// Deterministic across platforms and builds: part of the stream's on-the-wire promise, so the
// algorithm is versioned with the plan format. Thread-safe (immutable).
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key);
  uint64_t size() const { return n_; }
  // The element at position i, for i < size().
  uint64_t At(uint64_t i) const;
  // The elements at positions [first, first + kLanes), for first + kLanes <= size(): equal to At
  // of each, several times faster per element. At is one chain of dependent multiplies; here the
  // lanes' rounds are independent, so they overlap.
  static constexpr int kLanes = 8;
  void AtLanes(uint64_t first, uint64_t out[kLanes]) const;

  // Halves of up to this many bits (n <= 2^32) have their round function tabulated.
  static constexpr int kMostTableBits = 16;

 private:
  static constexpr int kRounds = 6;
  // One Feistel round with round key `rk`: (left, right) -> (right, left ^ F(right)), where
  // F(right) = Mix64(right ^ rk) & half_mask_.
  void Round(uint64_t rk, uint64_t& left, uint64_t& right) const {
    const uint64_t next_right = left ^ (Mix64(right ^ rk) & half_mask_);
    left = right;
    right = next_right;
  }
  // The same round read from round r's table.
  static void TableRound(const uint16_t* table, uint64_t& left, uint64_t& right) {
    const uint64_t next_right = left ^ table[right];
    left = right;
    right = next_right;
  }
  uint64_t Encrypt(uint64_t x) const;

  uint64_t n_;
  int half_bits_;  // each Feistel half has this many bits
  uint64_t half_mask_;
  uint64_t round_keys_[kRounds];
  // F of each round at every right half, kRounds tables of 2^half_bits entries (at most 768 KiB;
  // 12 KiB for a million documents), where half_bits <= kMostTableBits: one load, instead of
  // Mix64's chain of two multiplies, per round (a layout build spent ~90% of its time in them).
  // The values are those of Round, so the permutation is the same with or without.
  std::vector<uint16_t> table_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PERMUTATION_H_
