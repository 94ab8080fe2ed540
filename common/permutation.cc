#include "common/permutation.h"

#include <cstddef>

namespace shardstream {

Permutation::Permutation(uint64_t n, uint64_t key) : n_(n) {
  int bits = 2;
  while (bits < 64 && (uint64_t{1} << bits) < n) bits += 2;
  half_bits_ = bits / 2;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  uint64_t k = Mix64(key ^ 0x5368617264537472ULL);  // "ShardStr"
  for (uint64_t& rk : round_keys_) {
    k = Mix64(k);
    rk = k;
  }
  if (half_bits_ <= kMostTableBits) {
    const size_t entries = size_t{1} << half_bits_;
    table_.resize(kRounds * entries);
    for (int r = 0; r < kRounds; ++r) {
      for (uint64_t v = 0; v < entries; ++v) {
        table_[r * entries + v] = static_cast<uint16_t>(Mix64(v ^ round_keys_[r]) & half_mask_);
      }
    }
  }
}

uint64_t Permutation::Encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_, right = x & half_mask_;
  if (!table_.empty()) {
    for (int r = 0; r < kRounds; ++r)
      TableRound(&table_[static_cast<size_t>(r) << half_bits_], left, right);
  } else {
    for (uint64_t rk : round_keys_) Round(rk, left, right);
  }
  return (left << half_bits_) | right;
}

uint64_t Permutation::At(uint64_t i) const {
  // Cycle walking: the network permutes [0, 4^half_bits); iterate until inside [0, n).
  uint64_t x = Encrypt(i);
  while (x >= n_) x = Encrypt(x);
  return x;
}

void Permutation::AtLanes(uint64_t first, uint64_t out[kLanes]) const {
  if (!table_.empty()) {
    // With tables, halves have at most 16 bits: each lane's two in one 32-bit word,
    // (left << half_bits) | right, so that the 8 lanes stay in registers through the rounds
    // (16 halves of 64 bits did not).
    const int h = half_bits_;
    const uint32_t mask = static_cast<uint32_t>(half_mask_);
    uint32_t x[kLanes];
    for (int l = 0; l < kLanes; ++l) x[l] = static_cast<uint32_t>(first + l);
    for (int r = 0; r < kRounds; ++r) {
      const uint16_t* table = &table_[static_cast<size_t>(r) << h];
#pragma GCC unroll 8
      for (int l = 0; l < kLanes; ++l) {
        const uint32_t right = x[l] & mask;
        x[l] = (right << h) | ((x[l] >> h) ^ table[right]);
      }
    }
    const uint64_t n = n_;
    for (int l = 0; l < kLanes; ++l) {
      uint64_t v = x[l];
      while (v >= n) v = Encrypt(v);  // cycle walking, as in At
      out[l] = v;
    }
    return;
  }
  uint64_t left[kLanes], right[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    left[l] = (first + l) >> half_bits_;
    right[l] = (first + l) & half_mask_;
  }
  for (uint64_t rk : round_keys_) {
#pragma GCC unroll 8
    for (int l = 0; l < kLanes; ++l) Round(rk, left[l], right[l]);
  }
  for (int l = 0; l < kLanes; ++l) {
    uint64_t x = (left[l] << half_bits_) | right[l];
    while (x >= n_) x = Encrypt(x);  // cycle walking, as in At
    out[l] = x;
  }
}

}  // namespace shardstream
