// The trainer-side client: reads one rank's batches from the shard servers of a dataset, with
// prefetch, retry, failover and exact resume. Training code calls Next() in its loop and saves
// cursor() in its checkpoint.
//
//   shardstream::ReaderOptions options;
//   options.servers = {"shard-0:7711", "shard-1:7711", "shard-2:7711"};
//   options.request.set_tokenizer("gpt2");  // + seq_len, batch_size, seed, rank, world_size...
//   auto reader = shardstream::Reader::Open(options);
//   shardstream::v1::Batch batch;
//   while (*(*reader)->Next(&batch)) { ... batch.tokens() ... }
//
// How. The servers may each hold some partitions of the dataset, and several may hold the same
// ones (replicas). The reader asks every server for its parts of the plan (GetPlan), checks
// that every partition is held and that replicas agree, computes the stream's interleave of
// parts itself (common/stream_plan.h, the function the servers use too), and fetches each
// batch's rows from holders of their parts (ReadSequences), several batches ahead, from all
// servers at once. It owns the order and the cursor: the batches are the same whichever
// servers answer, whatever their number.
#ifndef SHARDSTREAM_CLIENT_READER_H_
#define SHARDSTREAM_CLIENT_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client_security.h"
#include "shardstream/v1/shard_service.pb.h"

namespace shardstream {

struct ReaderOptions {
  // The dataset's shard servers as HOST:PORT, in any order: together they must hold every
  // partition; several holders of one partition are replicas (failover). A name that resolves
  // to several addresses (a Kubernetes headless Service) stands for all of them, resolved
  // when the Reader opens: one address string can name a whole StatefulSet.
  std::vector<std::string> servers;
  // What to stream (tokenizer, seq_len, batch_size, seed, rank, world_size, epochs, filters,
  // mix, dtype, doc_boundaries). start_cursor: where to begin (empty: the beginning).
  v1::StreamRequest request;
  // Batches fetched ahead of Next(): bounds client memory. Small batches are fetched in
  // windows of ~256K tokens (one request per part and window), and two windows may be in
  // flight, so the bound is max(prefetch_batches batches, ~2 × 256K tokens).
  size_t prefetch_batches = 4;
  // Retryable failures (UNAVAILABLE, broken connections, a server restarting) are retried
  // with exponential backoff and jitter, on another holder of the part when there is one; the
  // reader gives up when nothing arrived for this long.
  absl::Duration retry_deadline = absl::Minutes(2);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  // Concurrent requests (0: chosen from prefetch_batches and the number of parts).
  int fetch_threads = 0;
  // TLS, mutual TLS and the bearer token (client_security.h). Default: plaintext, and the
  // token of $SHARDSTREAM_TOKEN when set.
  ClientSecurity security;

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the bad field
};

// Thread-safety: Next() and cursor() from one thread at a time; the destructor cancels and
// joins the background threads.
class Reader {
 public:
  static absl::StatusOr<std::unique_ptr<Reader>> Open(ReaderOptions options);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next batch (blocks until it arrives). false: the stream ended (its epochs are done).
  // Every batch is returned exactly once, in order, across retries, failovers and server
  // restarts. Errors: a server's non-retryable status (INVALID_ARGUMENT, NOT_FOUND,
  // FAILED_PRECONDITION naming a partition held by no reachable server or holders that
  // disagree, ...), or UNAVAILABLE once retry_deadline passed without progress.
  absl::StatusOr<bool> Next(v1::Batch* batch);
  // Next(), waiting at most `timeout`: DEADLINE_EXCEEDED when no batch came in time (nothing is
  // lost: call again). For callers that must react to other events while waiting (the Python
  // binding checks for Ctrl-C between slices).
  absl::StatusOr<bool> NextWithin(v1::Batch* batch, absl::Duration timeout);
  // The cursor after the last batch Next() returned (the start cursor before the first): save
  // it with the model; a Reader opened with it continues exactly from there.
  std::string cursor() const;
  // Requests retried after a failure (for logs and tests).
  uint64_t reconnects() const;

 private:
  class Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_READER_H_
