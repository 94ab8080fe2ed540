#include "common/part_packing.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "common/hash128.h"

namespace shardstream {

PartPacking::PartPacking(std::shared_ptr<const std::vector<uint32_t>> token_counts,
                         uint32_t seq_len)
    : counts_(std::move(token_counts)), seq_len_(std::max<uint32_t>(seq_len, 1)) {
  for (uint32_t c : *counts_) epoch_tokens_ += uint64_t{c} + 1;  // + EOS
}

uint64_t PartOrderKey(uint64_t seed, const PartKey& part) {
  Hasher128 h;
  h.UpdateString("shardstream.part-order.v1");
  h.UpdateU64(seed);
  h.UpdateString(part.source);
  h.UpdateU64(part.partition);
  return h.Digest().lo;
}

PartEpochLayout::PartEpochLayout(const PartPacking& packing, uint64_t order_key, uint64_t epoch,
                                 int threads)
    : counts_(packing.shared_counts()), epoch_(epoch) {
  const std::vector<uint32_t>& counts = *counts_;
  const size_t n = counts.size();
  const Permutation order(n, Mix64(order_key) ^ Mix64(~epoch));
  order_.resize(n);
  starts_.resize(n + 1);
  // Positions are cut into runs, one per thread; each run's starts are first summed from 0,
  // then shifted by the tokens of the runs before it.
  const size_t runs = std::clamp<size_t>(n / kLeastRunDocs, 1, std::max(threads, 1));
  std::vector<uint64_t> run_tokens(runs);
  auto run_bounds = [&](size_t r) { return std::pair{n * r / runs, n * (r + 1) / runs}; };
  auto sum_run = [&](size_t r) {
    const auto [first, last] = run_bounds(r);
    // The counts are read in the permutation's order, a random read per document: a block of
    // positions is permuted and its counts prefetched before they are summed, so that the
    // misses of a block overlap (one at a time, they made the build ~5x slower). The block is
    // permuted Permutation::kLanes positions at a time (At one by one took 80% of the build).
    constexpr size_t kBlock = 32;
    static_assert(kBlock % Permutation::kLanes == 0);
    uint64_t lanes[Permutation::kLanes];
    uint64_t at = 0;
    for (size_t begin = first; begin < last; begin += kBlock) {
      const size_t end = std::min(last, begin + kBlock);
      size_t j = begin;
      for (; j + Permutation::kLanes <= end; j += Permutation::kLanes) {
        order.AtLanes(j, lanes);
        for (int l = 0; l < Permutation::kLanes; ++l) {
          order_[j + l] = static_cast<uint32_t>(lanes[l]);
          __builtin_prefetch(&counts[lanes[l]]);
        }
      }
      for (; j < end; ++j) {
        order_[j] = static_cast<uint32_t>(order.At(j));
        __builtin_prefetch(&counts[order_[j]]);
      }
      for (size_t j = begin; j < end; ++j) {
        starts_[j] = at;
        at += uint64_t{counts[order_[j]]} + 1;
      }
    }
    run_tokens[r] = at;
  };
  auto shift_run = [&](size_t r, uint64_t by) {
    const auto [first, last] = run_bounds(r);
    for (size_t j = first; j < last; ++j) starts_[j] += by;
  };
  std::vector<std::thread> pool;
  for (size_t r = 1; r < runs; ++r) pool.emplace_back(sum_run, r);
  sum_run(0);
  for (std::thread& t : pool) t.join();
  pool.clear();
  uint64_t before = run_tokens[0];
  for (size_t r = 1; r < runs; ++r) {
    pool.emplace_back(shift_run, r, before);
    before += run_tokens[r];
  }
  for (std::thread& t : pool) t.join();
  starts_[n] = before;
}

void PartEpochLayout::Pieces(uint64_t k, uint32_t seq_len, std::vector<Piece>* pieces,
                             size_t hint) const {
  pieces->clear();
  const uint64_t len = seq_len;
  uint64_t pos = k * len;
  const uint64_t end = pos + len;
  // The position holding token `pos`: the last start <= pos, in [lo, hi) where starts_[lo] <=
  // pos < starts_[hi] (starts_[n], the epoch's tokens, is past every sequence's first token).
  const size_t n = starts_.size() - 1;
  size_t lo = 0, hi = n;
  if (hint < n && starts_[hint] <= pos) {  // gallop forward from the hint
    lo = hint;
    size_t step = 1;
    while (lo + step < n && starts_[lo + step] <= pos) {
      lo += step;
      step *= 2;
    }
    hi = std::min(n, lo + step);
  }
  size_t j = static_cast<size_t>(
                 std::upper_bound(starts_.begin() + lo + 1, starts_.begin() + hi + 1, pos) -
                 starts_.begin()) -
             1;
  while (pos < end) {
    const uint64_t doc_start = starts_[j];
    const uint64_t doc_end = starts_[j + 1];  // includes the EOS
    const uint64_t take_end = std::min(doc_end, end);
    pieces->push_back(Piece{j, static_cast<uint32_t>(pos - doc_start),
                            static_cast<uint32_t>(take_end - doc_start)});
    pos = take_end;
    ++j;
  }
}

}  // namespace shardstream
