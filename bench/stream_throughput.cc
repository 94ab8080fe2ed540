// Plan build time, plan memory and embedded stream throughput on a tokenized catalog.
// usage: stream_throughput DB TOKENIZER [--seq-len 1024] [--batch-size 8] [--tokens 200000000]
//                          [--no-dedup] [--strip-plan-columns]
//   --strip-plan-columns: first removes the token records' plan columns (server/plan_column.h),
//   so the plan reads every DocRecord as for a store tokenized before them (`tokenize` puts
//   them back).
// Prints one JSON line: plan build seconds, first-batch seconds, RSS growth while building the
// plan and the first epoch (block cache included) and the plan + epoch layout's own bytes per
// document, batches and tokens per second (one thread), and the first batch of a plan at twice
// the seq_len made from the first plan's selection.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/deadlock_detection.h"
#include "server/catalog.h"
#include "server/local_stream.h"
#include "server/token_store.h"

namespace shardstream {
namespace {

// Resident set size of this process, bytes (from /proc/self/statm).
uint64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr, "usage: %s DB TOKENIZER [--seq-len N] [--batch-size N] [--tokens N] [--no-dedup]\n",
        argv[0]);
    return 2;
  }
  PlanSpec spec;
  StreamOptions options;
  spec.parts.tokenizer = argv[2];
  spec.parts.seq_len = 1024;
  options.rank.batch_size = 8;
  uint64_t want_tokens = 200'000'000;
  bool strip = false;
  for (int i = 3; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--no-dedup") spec.parts.filters.dedup = false;
    if (flag == "--strip-plan-columns") strip = true;
    if (i + 1 >= argc) break;
    if (flag == "--seq-len") spec.parts.seq_len = std::stoul(argv[++i]);
    if (flag == "--batch-size") options.rank.batch_size = std::stoul(argv[++i]);
    if (flag == "--tokens") want_tokens = std::stoull(argv[++i]);
  }
  if (strip) {
    auto writable = Catalog::Open(argv[1], {});
    if (!writable.ok()) return 1;
    TokenStore store(writable->get());
    auto tokenizer = store.FindTokenizer(argv[2]);
    if (!tokenizer.ok()) return 1;
    for (const auto& [id, file] : (*writable)->files()) {
      auto record = store.GetTokenizedFile(FingerprintOf(*tokenizer), id);
      if (!record.ok()) continue;
      record->clear_doc_hashes();
      record->clear_doc_flags();
      record->clear_rules_hi();
      record->clear_rules_lo();
      if (!store.PutTokenizedFile(FingerprintOf(*tokenizer), *record).ok()) return 1;
    }
    if (!(*writable)->Flush().ok()) return 1;
  }
  CatalogOptions read_only;
  read_only.read_only = true;
  if (const char* mb = std::getenv("BLOCK_CACHE_MB"))
    read_only.block_cache_bytes = std::stoull(mb) << 20;
  auto catalog = Catalog::Open(argv[1], read_only);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", std::string(catalog.status().message()).c_str());
    return 1;
  }
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  const uint64_t rss0 = RssBytes();
  auto t0 = now();
  auto plan = CatalogPlan::Build(catalog->get(), spec.parts);
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", std::string(plan.status().message()).c_str());
    return 1;
  }
  auto t1 = now();
  auto stream = LocalStream::Open({catalog->get()}, spec, options, {*plan});
  if (!stream.ok()) return 1;
  Batch batch;
  if (!(*stream)->Next(&batch).ok()) return 1;
  auto t2 = now();
  const uint64_t rss1 = RssBytes();
  uint64_t batches = 1, tokens = batch.tokens.size();
  while (tokens < want_tokens) {
    absl::StatusOr<bool> more = (*stream)->Next(&batch);
    if (!more.ok() || !*more) break;
    ++batches;
    tokens += batch.tokens.size();
  }
  auto t3 = now();
  // A plan at twice the seq_len from the kept plan's selection (as a server makes it when a
  // kept plan has the same tokenizer and filters): time to its first batch.
  PlanSpec other = spec;
  other.parts.seq_len = spec.parts.seq_len * 2;
  std::shared_ptr<const CatalogPlan> other_plan =
      CatalogPlan::Of((*plan)->selection(), other.parts.seq_len);
  auto other_stream = LocalStream::Open({catalog->get()}, other, options, {other_plan});
  Batch other_batch;
  if (!other_stream.ok() || !(*other_stream)->Next(&other_batch).ok()) return 1;
  auto t4 = now();
  size_t docs = 0;
  for (const auto& part : (*plan)->parts()) docs += part->packing()->num_docs();
  std::printf(
      "{\"docs\": %zu, \"plan_build_s\": %.3f, \"first_batch_s\": %.3f, \"rss_growth_bytes\": "
      "%llu, "
      "\"rss_growth_per_doc\": %.1f, \"plan_and_epoch_bytes_per_doc\": %.1f, \"batches\": %llu, "
      "\"tokens\": %llu, \"stream_s\": %.3f, "
      "\"tokens_per_s\": %.0f, \"batch_shape\": [%u, %u], "
      "\"first_batch_at_2x_seq_len_of_kept_selection_s\": %.4f}\n",
      docs, seconds(t0, t1), seconds(t0, t2), static_cast<unsigned long long>(rss1 - rss0),
      static_cast<double>(rss1 - rss0) / docs,
      static_cast<double>((*plan)->selection()->MemoryBytes() + docs * 12) /* + PartEpochLayout */ /
          docs,
      static_cast<unsigned long long>(batches), static_cast<unsigned long long>(tokens),
      seconds(t2, t3), (tokens - batch.tokens.size()) / seconds(t2, t3), options.rank.batch_size,
      spec.parts.seq_len, seconds(t3, t4));
  return 0;
}

}  // namespace
}  // namespace shardstream

int main(int argc, char** argv) {
  shardstream::SkipMutexDeadlockDetection();  // as the CLI does
  return shardstream::Main(argc, argv);
}
