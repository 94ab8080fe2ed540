// Served throughput against a bare gRPC stream of equally sized messages, in one process:
//   served: ShardServer over a tokenized catalog (plans, token store, packing);
//   bare:   a ShardService whose StreamBatches writes one prebuilt Batch of the same size again
//           and again (pure transport: serialization, HTTP/2, loopback).
// For each client count (--clients, default 1,8): aggregate tokens/s, client-side time per batch,
// time to the first batch (served: includes building the plan), fairness (the slowest client's
// tokens/s over the fastest's), and the process's CPU time per batch (server and clients; steadier
// than walls on a shared machine; "cpu vs bare" is bare's over served's). Clients read with raw
// stubs (the same code for both), and once more through the client Reader (prefetch thread) for
// the served case. Each served run also prints the epoch layouts it built.
// usage: served_throughput DB TOKENIZER [--seq-len 1024] [--batch-size 8] [--batches 2000]
//                          [--clients 1,8,64]
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/reader.h"
#include "common/deadlock_detection.h"
#include "server/grpc_shard_server.h"
#include "server/layout_cache.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {
namespace {

class BareService final : public v1::ShardService::Service {
 public:
  explicit BareService(v1::Batch batch) : batch_(std::move(batch)) {}
  grpc::Status StreamBatches(grpc::ServerContext* context, const v1::StreamRequest* request,
                             grpc::ServerWriter<v1::Batch>* writer) override {
    for (uint64_t i = 0; i < request->epochs() && !context->IsCancelled(); ++i) {
      if (!writer->Write(batch_)) break;
    }
    return grpc::Status::OK;
  }

 private:
  const v1::Batch batch_;
};

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU seconds of the whole process (server and clients: they share the machine's cores).
double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + 1e-6 * t.tv_usec; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Result {
  double seconds = 0, first_batch = 0;
  double cpu_seconds = 0;  // the process's, over the run
  uint64_t tokens = 0, batches = 0;
  // Fairness: the slowest client's tokens/s over the fastest's (each over its own run).
  double fairness = 1;
};

// `clients` threads each read `batches` batches (rank i of `clients`) from `address`.
Result RunClients(const std::string& address, v1::StreamRequest request, int clients,
                  uint64_t batches, bool bare) {
  std::vector<Result> results(clients);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  const double cpu_start = ProcessCpuSeconds();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetInt("shardstream.client", c);  // one connection per client
      auto stub = v1::ShardService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      v1::StreamRequest r = request;
      r.set_world_size(clients);
      r.set_rank(c);
      if (bare) r.set_epochs(batches);  // the bare service sends this many
      grpc::ClientContext context;
      const auto t0 = Clock::now();
      auto call = stub->StreamBatches(&context, r);
      v1::Batch b;
      while (results[c].batches < batches && call->Read(&b)) {
        if (results[c].batches == 0) results[c].first_batch = Seconds(t0, Clock::now());
        ++results[c].batches;
        results[c].tokens += b.rows() * b.seq_len();
      }
      results[c].seconds = Seconds(t0, Clock::now());
      context.TryCancel();
      call->Finish();
    });
  }
  for (auto& t : threads) t.join();
  Result total;
  total.seconds = Seconds(start, Clock::now());
  total.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  double slowest = 0, fastest = 0;
  for (const Result& r : results) {
    total.tokens += r.tokens;
    total.batches += r.batches;
    total.first_batch = std::max(total.first_batch, r.first_batch);
    const double rate = r.tokens / std::max(r.seconds, 1e-9);
    slowest = &r == &results[0] ? rate : std::min(slowest, rate);
    fastest = std::max(fastest, rate);
  }
  total.fairness = fastest > 0 ? slowest / fastest : 1;
  return total;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s DB TOKENIZER [--seq-len N] [--batch-size N] [--batches N] "
                 "[--clients N,N...]\n",
                 argv[0]);
    return 2;
  }
  uint32_t seq_len = 1024, batch_size = 8;
  uint64_t batches = 2000;
  std::vector<int> client_counts = {1, 8};
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--seq-len") seq_len = std::stoul(argv[i + 1]);
    if (flag == "--batch-size") batch_size = std::stoul(argv[i + 1]);
    if (flag == "--batches") batches = std::stoull(argv[i + 1]);
    if (flag == "--clients") {
      client_counts.clear();
      for (absl::string_view n : absl::StrSplit(argv[i + 1], ',')) {
        client_counts.push_back(std::stoi(std::string(n)));
      }
    }
  }
  CatalogOptions read_only;
  read_only.read_only = true;
  auto catalog = Catalog::Open(argv[1], read_only);
  if (!catalog.ok()) return 1;
  auto served = ShardServer::Start(catalog->get(), ShardServerOptions());
  if (!served.ok()) return 1;
  v1::StreamRequest request;
  request.set_tokenizer(argv[2]);
  request.set_seq_len(seq_len);
  request.set_batch_size(batch_size);
  request.set_seed(1);
  // The bare server sends a real batch of the same shape, so message sizes match.
  v1::Batch sample;
  {
    auto logic = ShardServiceLogic(catalog->get(), ServerLimits());
    auto stream = logic.OpenStream(request);
    if (!stream.ok() || !*(*stream)->Next(&sample)) return 1;
  }
  BareService bare_service(sample);
  grpc::ServerBuilder builder;
  int bare_port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &bare_port);
  builder.RegisterService(&bare_service);
  auto bare = builder.BuildAndStart();
  const std::string served_address = absl::StrCat("127.0.0.1:", (*served)->port());
  const std::string bare_address = absl::StrCat("127.0.0.1:", bare_port);
  std::printf("batch %u x %u tokens, %zu bytes per message, %llu batches per client run\n",
              batch_size, seq_len, sample.ByteSizeLong(), static_cast<unsigned long long>(batches));
  std::printf("%-34s %8s %12s %12s %14s %10s %15s %13s %12s\n", "", "clients", "M tokens/s",
              "ms/batch", "first batch ms", "vs bare", "min/max client", "cpu us/batch",
              "cpu vs bare");
  // A first stream builds the plan (kept by the server's recent-plans cache): its time to the
  // first batch is that of a new plan; the runs below measure a plan in use.
  Result cold = RunClients(served_address, request, 1, 1, /*bare=*/false);
  std::printf("first batch of a new plan: %.1f ms\n", 1e3 * cold.first_batch);
  for (int clients : client_counts) {
    const uint64_t per_client = std::max<uint64_t>(batches / clients, 200);
    Result b = RunClients(bare_address, request, clients, per_client, /*bare=*/true);
    const uint64_t layouts_before = LayoutCache::BuiltInProcess();
    Result s = RunClients(served_address, request, clients, per_client, /*bare=*/false);
    const uint64_t layouts_built = LayoutCache::BuiltInProcess() - layouts_before;
    auto row = [&](const char* name, const Result& r) {
      const double tps = r.tokens / r.seconds;
      const double cpu = 1e6 * r.cpu_seconds / r.batches;
      std::printf("%-34s %8d %12.1f %12.3f %14.1f %10.2f %15.2f %13.1f %12.2f\n", name, clients,
                  tps / 1e6, 1e3 * r.seconds * clients / r.batches, 1e3 * r.first_batch,
                  tps / (b.tokens / b.seconds), r.fairness, cpu,
                  (1e6 * b.cpu_seconds / b.batches) / cpu);
    };
    row("bare gRPC stream (same messages)", b);
    row("shardstream serve", s);
    // One per part epoch read; more means readers spread over more epochs than the cache keeps.
    std::printf("  epoch layouts built while served: %llu\n",
                static_cast<unsigned long long>(layouts_built));
  }
  // One client through the Reader (prefetch thread, retry bookkeeping).
  ReaderOptions options;
  options.servers = {served_address};
  options.request = request;
  auto reader = Reader::Open(options);
  if (!reader.ok()) return 1;
  v1::Batch batch;
  const auto t0 = Clock::now();
  double first = 0;
  uint64_t tokens = 0;
  for (uint64_t i = 0; i < batches; ++i) {
    if (!*(*reader)->Next(&batch)) break;
    if (i == 0) first = Seconds(t0, Clock::now());
    tokens += batch.rows() * batch.seq_len();
  }
  const double seconds = Seconds(t0, Clock::now());
  std::printf("%-34s %8d %12.1f %12.3f %14.1f\n", "shardstream serve via Reader", 1,
              tokens / seconds / 1e6, 1e3 * seconds / batches, 1e3 * first);
  (*served)->Shutdown(absl::Seconds(1));
  bare->Shutdown();
  return 0;
}

}  // namespace
}  // namespace shardstream

int main(int argc, char** argv) {
  shardstream::SkipMutexDeadlockDetection();  // as the CLI does
  return shardstream::Main(argc, argv);
}
