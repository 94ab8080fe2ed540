// The cost of an epoch layout (the seeded order of a part's documents and its prefix sums),
// built once per part epoch on the stream's path: the permutation alone, and whole layouts of
// 1 M tiny documents (1–64 tokens) on 1 and 2 threads; and locating every sequence of an epoch
// one after the other, with and without the previous sequence's end as the search hint.
// Run: MALLOC_MMAP_THRESHOLD_=4194304 build/bench/epoch_layout_bench [--benchmark_filter=...]
// (the threshold `shardstream` sets: without it, glibc reuses the freed layouts' heap memory
// between builds, which a server reaching a new epoch does not see).
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/part_packing.h"
#include "common/permutation.h"

namespace shardstream {
namespace {

constexpr size_t kDocs = 1'000'000;

void BM_Permutation(benchmark::State& state) {
  const Permutation order(kDocs, 7);
  uint64_t sink = 0;
  for (auto _ : state) {
    for (uint64_t j = 0; j < kDocs; ++j) sink += order.At(j);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * kDocs);
}
BENCHMARK(BM_Permutation)->Unit(benchmark::kMillisecond);

void BM_PermutationLanes(benchmark::State& state) {
  const Permutation order(kDocs, 7);
  uint64_t sink = 0, lanes[Permutation::kLanes];
  for (auto _ : state) {
    for (uint64_t j = 0; j + Permutation::kLanes <= kDocs; j += Permutation::kLanes) {
      order.AtLanes(j, lanes);
      for (uint64_t x : lanes) sink += x;
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * kDocs);
}
BENCHMARK(BM_PermutationLanes)->Unit(benchmark::kMillisecond);

PartPacking TinyDocuments() {
  std::mt19937 rng(1);
  std::vector<uint32_t> counts(kDocs);
  for (uint32_t& c : counts) c = 1 + rng() % 64;
  return PartPacking(std::move(counts), 1024);
}

void BM_PartEpochLayout(benchmark::State& state) {
  const PartPacking packing = TinyDocuments();
  uint64_t epoch = 0;
  for (auto _ : state) {
    const PartEpochLayout layout(packing, 42, epoch++, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(layout.DocAt(kDocs / 2));
  }
  state.SetItemsProcessed(state.iterations() * kDocs);
}
BENCHMARK(BM_PartEpochLayout)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg: 1 to pass the previous sequence's last position as the hint (PartReader does), 0 not to.
void BM_PiecesOfConsecutiveSequences(benchmark::State& state) {
  const PartPacking packing = TinyDocuments();
  const PartEpochLayout layout(packing, 42, 0);
  const bool hinted = state.range(0) != 0;
  std::vector<PartEpochLayout::Piece> pieces;
  uint64_t sink = 0;
  for (auto _ : state) {
    size_t hint = PartEpochLayout::kNoHint;
    for (uint64_t k = 0; k < packing.sequences_per_epoch(); ++k) {
      layout.Pieces(k, packing.seq_len(), &pieces, hint);
      if (hinted) hint = pieces.back().position;
      sink += pieces.size();
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * packing.sequences_per_epoch());
}
BENCHMARK(BM_PiecesOfConsecutiveSequences)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shardstream

BENCHMARK_MAIN();
