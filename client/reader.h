// The trainer-side client: reads one rank's batches from shard servers, with prefetch, retry and
// exact resume. Training code calls Next() in its loop and saves cursor() in its checkpoint.
//
//   shardstream::ReaderOptions options;
//   options.servers = {"shard-0:7711", "shard-1:7711"};
//   options.request.set_tokenizer("gpt2");  // + seq_len, batch_size, seed, rank, world_size...
//   auto reader = shardstream::Reader::Open(options);
//   shardstream::v1::Batch batch;
//   while (*(*reader)->Next(&batch)) { ... batch.tokens() ... }
#ifndef SHARDSTREAM_CLIENT_READER_H_
#define SHARDSTREAM_CLIENT_READER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "shardstream/v1/shard_service.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace shardstream {

struct ReaderOptions {
  // Shard servers holding the same catalog, as HOST:PORT. The reader uses the first and moves
  // to the next one whenever a connection fails.
  std::vector<std::string> servers;
  // What to stream. start_cursor: where to begin (empty: the beginning).
  v1::StreamRequest request;
  // Batches received ahead of Next(): bounds client memory (prefetch × batch size).
  size_t prefetch_batches = 4;
  // Retryable failures (UNAVAILABLE, RESOURCE_EXHAUSTED, broken connections) are retried with
  // exponential backoff and jitter; the reader gives up when no batch arrived for this long.
  absl::Duration retry_deadline = absl::Minutes(2);
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the bad field
};

// Thread-safety: Next() and cursor() from one thread at a time; the destructor cancels and
// joins the background reader.
class Reader {
 public:
  static absl::StatusOr<std::unique_ptr<Reader>> Open(ReaderOptions options);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next batch (blocks until one arrives). false: the stream ended (its epochs are done).
  // Every batch is returned exactly once, across reconnects and server restarts. Errors: the
  // server's non-retryable status as it is (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
  // ...), or UNAVAILABLE once retry_deadline passed without progress.
  absl::StatusOr<bool> Next(v1::Batch* batch);
  // The cursor after the last batch Next() returned (the start cursor before the first): save
  // it with the model; a Reader opened with it continues exactly from there.
  std::string cursor() const;
  // Connections opened after the first one (for logs and tests).
  uint64_t reconnects() const;

 private:
  explicit Reader(ReaderOptions options);
  void Run();  // the background thread

  const ReaderOptions options_;
  std::thread thread_;
  std::string delivered_cursor_;  // owned by the Next() caller

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<v1::Batch> queue_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;  // no more batches will be queued
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the call in flight
  uint64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_READER_H_
