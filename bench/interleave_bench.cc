// The cost of the stream's plan math per sequence: the interleave's Locate for 1, 64 and 4,096
// parts (random positions: no replay, no cache), and a whole StreamPlan::Locate (interleave +
// part epoch) as the client and the servers call it for every row.
// Run: build/bench/interleave_bench [--benchmark_filter=...]
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/interleave.h"
#include "common/stream_plan.h"

namespace shardstream {
namespace {

// Parts of uneven sizes, like partitions of real corpora (±50% around the mean).
std::vector<uint64_t> Weights(int parts) {
  std::mt19937_64 rng(parts);
  std::vector<uint64_t> w(parts);
  for (uint64_t& x : w) x = 50'000 + rng() % 100'000;
  return w;
}

void BM_InterleaveLocate(benchmark::State& state) {
  const auto il = *Interleave::Create(Weights(static_cast<int>(state.range(0))));
  std::mt19937_64 rng(1);
  uint64_t sink = 0;
  for (auto _ : state) {
    const Interleave::Position p = il.Locate(rng() % (uint64_t{1} << 40));
    sink += p.index + p.part;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["depth"] = il.depth();
}
BENCHMARK(BM_InterleaveLocate)->Arg(1)->Arg(64)->Arg(4096);

void BM_StreamPlanLocate(benchmark::State& state) {
  std::vector<PartSize> parts;
  const std::vector<uint64_t> w = Weights(static_cast<int>(state.range(0)));
  for (size_t i = 0; i < w.size(); ++i) {
    parts.push_back(PartSize{PartKey{"default", static_cast<uint32_t>(i)}, Hash128{i, i}, w[i],
                             w[i] * 1024, w[i]});
  }
  StreamParameters parameters;
  parameters.partitions = static_cast<uint32_t>(w.size());
  const auto plan = *StreamPlan::Create(parameters, parts);
  std::mt19937_64 rng(2);
  uint64_t sink = 0;
  for (auto _ : state) {
    const StreamPlan::Row row = plan->Locate(rng() % 1000, rng() % plan->epoch_sequences());
    sink += row.sequence + row.part;
  }
  benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_StreamPlanLocate)->Arg(1)->Arg(64)->Arg(4096);

}  // namespace
}  // namespace shardstream

BENCHMARK_MAIN();
