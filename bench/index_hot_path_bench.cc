// Per-document costs of indexing, on the Python files installed on this machine:
// JSON-lines parsing (simdjson), content hashing (XXH3-128) and quality signals.
// Run: build/bench/index_hot_path_bench [--benchmark_filter=...]
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/hash128.h"
#include "common/json_line_parser.h"
#include "common/json_writer.h"
#include "common/quality_signals.h"

namespace shardstream {
namespace {

// Up to ~16 MB of .py files from /usr/lib/python3*, in path order.
const std::vector<std::string>& Documents() {
  static const std::vector<std::string>* docs = [] {
    auto* out = new std::vector<std::string>();
    std::vector<std::filesystem::path> paths;
    for (const auto& root : {"/usr/lib/python3.11", "/usr/lib/python3/dist-packages"}) {
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
           it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().extension() == ".py") paths.push_back(it->path());
      }
    }
    std::sort(paths.begin(), paths.end());
    size_t total = 0;
    for (const auto& p : paths) {
      std::ifstream in(p, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      total += ss.str().size();
      out->push_back(ss.str());
      if (total > (16 << 20)) break;
    }
    return out;
  }();
  return *docs;
}

void SetBytes(benchmark::State& state, size_t bytes_per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iteration));
}

size_t TotalBytes(const std::vector<std::string>& docs) {
  size_t n = 0;
  for (const std::string& d : docs) n += d.size();
  return n;
}

void BM_QualitySignals(benchmark::State& state) {
  const auto& docs = Documents();
  QualitySignalComputer computer;
  v1::QualitySignals q;
  for (auto _ : state) {
    for (const std::string& d : docs) computer.Compute(d, &q);
    benchmark::DoNotOptimize(q);
  }
  SetBytes(state, TotalBytes(docs));
}
BENCHMARK(BM_QualitySignals)->Unit(benchmark::kMillisecond);

// Tiny documents (the shape of tools/tiny_corpus.py's, ~100 bytes): 100,000 consecutive
// pieces of 40 to 160 bytes of the same files.
void BM_QualitySignalsTiny(benchmark::State& state) {
  std::vector<std::string> pieces;
  size_t bytes = 0;
  for (const std::string& d : Documents()) {
    for (size_t at = 0; at < d.size() && pieces.size() < 100'000;) {
      const size_t n = 40 + pieces.size() * 37 % 121;
      pieces.push_back(d.substr(at, n));
      bytes += pieces.back().size();
      at += n;
    }
  }
  QualitySignalComputer computer;
  v1::QualitySignals q;
  for (auto _ : state) {
    for (const std::string& d : pieces) computer.Compute(d, &q);
    benchmark::DoNotOptimize(q);
  }
  SetBytes(state, bytes);
  state.counters["ns_per_doc"] =
      benchmark::Counter(static_cast<double>(state.iterations() * pieces.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_QualitySignalsTiny)->Unit(benchmark::kMillisecond);

void BM_HashBytes(benchmark::State& state) {
  const auto& docs = Documents();
  for (auto _ : state) {
    for (const std::string& d : docs) benchmark::DoNotOptimize(HashBytes(d));
  }
  SetBytes(state, TotalBytes(docs));
}
BENCHMARK(BM_HashBytes)->Unit(benchmark::kMillisecond);

void BM_ParseJsonLines(benchmark::State& state) {
  const auto& docs = Documents();
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (const std::string& d : docs) {
    std::string line = R"({"repo_name":"debian/x","path":"a.py","content":)";
    JsonWriter::AppendQuoted(d, &line);
    line += R"(,"license":"mit"})";
    bytes += line.size();
    line.append(64, ' ');  // padding, as LineReader provides
    lines.push_back(std::move(line));
  }
  JsonLineParser parser("content");
  ParsedLine doc;
  LineError error;
  for (auto _ : state) {
    for (const std::string& l : lines) {
      benchmark::DoNotOptimize(
          parser.Parse(std::string_view(l.data(), l.size() - 64), &doc, &error));
    }
  }
  SetBytes(state, bytes);
}
BENCHMARK(BM_ParseJsonLines)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shardstream

BENCHMARK_MAIN();
