#include "client/reader.h"

#include <grpcpp/grpcpp.h>

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {
namespace {

// Failures a retry (on this server or the next) can cure.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:         // server down, restarting or shutting down
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // server full
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:  // cancelled by a server shutting down
    case grpc::StatusCode::UNKNOWN:    // transport errors ("Stream removed", ...)
    case grpc::StatusCode::INTERNAL:   // RST_STREAM from a dying peer
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status ReaderOptions::Validate() const {
  if (servers.empty()) return absl::InvalidArgumentError("no server given");
  if (request.tokenizer().empty()) return absl::InvalidArgumentError("no tokenizer in the request");
  if (prefetch_batches < 1) return absl::InvalidArgumentError("prefetch_batches must be >= 1");
  if (initial_backoff <= absl::ZeroDuration() || max_backoff < initial_backoff) {
    return absl::InvalidArgumentError("backoffs must be positive, max >= initial");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(ReaderOptions options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto reader = std::unique_ptr<Reader>(new Reader(std::move(options)));
  reader->thread_ = std::thread([r = reader.get()] { r->Run(); });
  return reader;
}

Reader::Reader(ReaderOptions options)
    : options_(std::move(options)), delivered_cursor_(options_.request.start_cursor()) {}

Reader::~Reader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

std::string Reader::cursor() const { return delivered_cursor_; }

uint64_t Reader::reconnects() const {
  absl::MutexLock lock(&mu_);
  return reconnects_;
}

absl::StatusOr<bool> Reader::Next(v1::Batch* batch) {
  absl::MutexLock lock(&mu_);
  while (queue_.empty() && !done_) cv_.Wait(&mu_);
  if (queue_.empty()) {
    if (!final_status_.ok()) return final_status_;
    return false;
  }
  *batch = std::move(queue_.front());
  queue_.pop_front();
  cv_.SignalAll();
  delivered_cursor_ = batch->cursor();
  return true;
}

void Reader::Run() {
  std::mt19937_64 rng(std::random_device{}());
  v1::StreamRequest request = options_.request;
  std::string received_cursor = request.start_cursor();  // after the last batch queued
  size_t server = 0;
  absl::Duration backoff = options_.initial_backoff;
  absl::Time last_progress = absl::Now();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // batches are bounded by the server's limits
  while (true) {
    auto channel = grpc::CreateCustomChannel(options_.servers[server],
                                             grpc::InsecureChannelCredentials(), args);
    auto stub = v1::ShardService::NewStub(channel);
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      context_ = &context;
    }
    // Queued batches will still be delivered, so resume after the last one received: every
    // batch reaches the caller exactly once.
    request.set_start_cursor(received_cursor);
    std::unique_ptr<grpc::ClientReader<v1::Batch>> call = stub->StreamBatches(&context, request);
    v1::Batch batch;
    while (call->Read(&batch)) {
      received_cursor = batch.cursor();
      last_progress = absl::Now();
      backoff = options_.initial_backoff;
      absl::MutexLock lock(&mu_);
      while (!stopping_ && queue_.size() >= options_.prefetch_batches) cv_.Wait(&mu_);
      if (stopping_) break;
      queue_.push_back(std::move(batch));
      cv_.SignalAll();
    }
    grpc::Status status = call->Finish();
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
    if (stopping_) return;
    if (status.ok()) {
      done_ = true;
      cv_.SignalAll();
      return;
    }
    const absl::Duration idle = absl::Now() - last_progress;
    if (!Retryable(status.error_code()) || idle >= options_.retry_deadline) {
      const auto code = static_cast<absl::StatusCode>(status.error_code());
      final_status_ = Retryable(status.error_code())
                          ? absl::UnavailableError(absl::StrCat(
                                "no batch for ", absl::FormatDuration(idle), " while retrying ",
                                options_.servers.size(), " server(s); last error from ",
                                options_.servers[server], ": ", status.error_message()))
                          : absl::Status(code, absl::StrCat(options_.servers[server], ": ",
                                                            status.error_message()));
      done_ = true;
      cv_.SignalAll();
      return;
    }
    // Full jitter: sleep a uniform fraction of the backoff, so many clients do not reconnect
    // in lockstep; wake early if the reader is being destroyed.
    const double fraction = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff * fraction);
    if (stopping_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
    server = (server + 1) % options_.servers.size();
    ++reconnects_;
  }
}

}  // namespace shardstream
