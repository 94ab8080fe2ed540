// Tokenizer throughput on a corpus: single-threaded Encoder and EncodeBatch with --jobs N.
// Prints one JSON line per configuration (MB/s of UTF-8 text and tokens/s, best of --runs),
// for bench/tokenizer_bench.sh to put side by side with the npm anchors.
//
// usage: tokenizer_throughput TOKENIZER_JSON CORPUS [--field content] [--jobs 2] [--runs 3]
//                             [--cache ENTRIES]   (the Encoder row; 1 = effectively no cache)
//   CORPUS: JSON-lines file(s) (.jsonl/.json, optionally .gz/.zst) or a directory of them.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "common/corpus_file_reader.h"
#include "common/corpus_files.h"
#include "common/tokenizer.h"

namespace shardstream {
namespace {

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s TOKENIZER_JSON CORPUS [--field content] [--jobs 2] [--runs 3]\n",
                 argv[0]);
    return 2;
  }
  std::string field = "content";
  int jobs = 2, runs = 3;
  size_t cache = Encoder::kDefaultCacheEntries;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--field") field = argv[i + 1];
    if (flag == "--jobs") jobs = std::atoi(argv[i + 1]);
    if (flag == "--runs") runs = std::atoi(argv[i + 1]);
    if (flag == "--cache") cache = std::strtoull(argv[i + 1], nullptr, 10);  // 1: no cache
  }
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromJsonFile(argv[1]);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<CorpusListing> listing = ListCorpusFiles({argv[2]});
  if (!listing.ok()) {
    std::fprintf(stderr, "%s\n", std::string(listing.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> texts;
  size_t bytes = 0;
  CorpusFileReaderOptions options;
  options.text_field = field;
  CorpusFileReader reader(options);
  for (const CorpusFile& f : listing->files) {
    auto r = reader.Read(f.absolute_path, f.compression, [&](uint64_t, const ParsedLine& doc) {
      texts.emplace_back(doc.text);
      bytes += doc.text.size();
      return true;
    });
    if (!r.ok()) return 1;
  }
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto report = [&](const char* name, int threads, double seconds, size_t tokens) {
    std::printf(
        "{\"name\": \"%s\", \"threads\": %d, \"docs\": %zu, \"bytes\": %zu, \"tokens\": %zu, "
        "\"seconds\": %.4f, \"mb_per_s\": %.2f, \"tokens_per_s\": %.0f}\n",
        name, threads, texts.size(), bytes, tokens, seconds, bytes / seconds / 1e6,
        tokens / seconds);
    std::fflush(stdout);
  };
  // Single thread, one Encoder (fresh each run: the cache starts cold every time).
  double best = 1e30;
  size_t tokens = 0;
  for (int r = 0; r < runs; ++r) {
    Encoder encoder(tokenizer->get(), cache);
    std::vector<TokenId> ids;
    tokens = 0;
    auto t0 = now();
    for (const std::string& text : texts) {
      ids.clear();
      if (!encoder.EncodeTo(text, EncodeMode::kOrdinary, &ids).ok()) return 1;
      tokens += ids.size();
    }
    best = std::min(best, std::chrono::duration<double>(now() - t0).count());
  }
  report("shardstream Encoder", 1, best, tokens);
  // EncodeBatch keeps every document's ids (as the tokenize job will), on 1 and on `jobs`
  // threads: their ratio is the scaling.
  for (int threads : {1, jobs}) {
    best = 1e30;
    for (int r = 0; r < runs; ++r) {
      auto t0 = now();
      auto out = EncodeBatch(**tokenizer, texts, EncodeMode::kOrdinary, threads);
      best = std::min(best, std::chrono::duration<double>(now() - t0).count());
      if (!out.ok()) return 1;
    }
    report("shardstream EncodeBatch", threads, best, tokens);
  }
  return 0;
}

}  // namespace
}  // namespace shardstream

int main(int argc, char** argv) { return shardstream::Main(argc, argv); }
