// The C++ client Reader's throughput on one stream, as the baseline for the Python client
// (bench/python_client_bench.py runs both against the same server, side by side) and for
// partitioned scale-out (bench/partition_bench.sh: one server vs several partition servers).
// usage: reader_throughput SERVER[,SERVER...] TOKENIZER [--seq-len 1024] [--batch-size 8]
//                          [--batches 2000] [--seed 1] [--dtype uint16|int32] [--prefetch 4]
//                          [--tls-ca F [--tls-cert F --tls-key F]] [--token-file F]
// Prints: batches=N tokens=T seconds=S peak_rss_kb=R for the batches after the first (whose
// time includes discovery and building the plan), measured as the Python side measures them;
// R is this client process's peak resident memory.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_split.h"
#include "client/reader.h"

namespace {

// VmHWM of this process, kB.
long PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s SERVER TOKENIZER [--seq-len N] [--batch-size N] "
                 "[--batches N] [--seed N] [--dtype uint16|int32]\n",
                 argv[0]);
    return 2;
  }
  shardstream::ReaderOptions options;
  options.servers = absl::StrSplit(argv[1], ',', absl::SkipEmpty());
  options.request.set_tokenizer(argv[2]);
  options.request.set_seq_len(1024);
  options.request.set_batch_size(8);
  options.request.set_seed(1);
  uint64_t batches = 2000;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--seq-len") options.request.set_seq_len(std::stoul(value));
    if (flag == "--batch-size") options.request.set_batch_size(std::stoul(value));
    if (flag == "--batches") batches = std::stoull(value);
    if (flag == "--seed") options.request.set_seed(std::stoull(value));
    if (flag == "--prefetch") options.prefetch_batches = std::stoull(value);
    if (flag == "--tls-ca") options.security.tls_ca_file = value;
    if (flag == "--tls-cert") options.security.tls_cert_file = value;
    if (flag == "--tls-key") options.security.tls_key_file = value;
    if (flag == "--tls-server-name") options.security.tls_server_name = value;
    if (flag == "--token-file") options.security.token_file = value;
    if (flag == "--dtype") {
      options.request.set_dtype(value == "int32" ? shardstream::v1::TOKEN_DTYPE_INT32
                                                 : shardstream::v1::TOKEN_DTYPE_UINT16);
    }
  }
  auto reader = shardstream::Reader::Open(options);
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", reader.status().ToString().c_str());
    return 1;
  }
  shardstream::v1::Batch batch;
  uint64_t received = 0, tokens = 0;
  std::chrono::steady_clock::time_point start;
  while (received < batches) {
    absl::StatusOr<bool> more = (*reader)->Next(&batch);
    if (!more.ok()) {
      std::fprintf(stderr, "%s\n", more.status().ToString().c_str());
      return 1;
    }
    if (!*more) break;
    if (received++ == 0) {
      start = std::chrono::steady_clock::now();
      continue;
    }
    tokens += uint64_t{batch.rows()} * batch.seq_len();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("batches=%llu tokens=%llu seconds=%.6f peak_rss_kb=%ld\n",
              static_cast<unsigned long long>(received - 1),
              static_cast<unsigned long long>(tokens), seconds, PeakRssKb());
  return 0;
}
