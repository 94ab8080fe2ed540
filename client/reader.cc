#include "client/reader.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/mixture.h"
#include "common/part_directory.h"
#include "common/rank_schedule.h"
#include "common/stream_plan.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {
namespace {

// Failures a retry (on this server or another holder) can cure.
bool Retryable(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:         // server down, restarting or shutting down
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // server's threads busy
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:          // cancelled by a server shutting down
    case grpc::StatusCode::UNKNOWN:            // transport errors ("Stream removed", ...)
    case grpc::StatusCode::INTERNAL:           // RST_STREAM from a dying peer
    case grpc::StatusCode::DEADLINE_EXCEEDED:  // a hung or overloaded server
      return true;
    default:
      return false;
  }
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& server) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(server, ": ", s.error_message()));
}

// The part of a StreamRequest that GetPlan and ReadSequences name.
v1::PlanRequest PlanRequestOf(const v1::StreamRequest& r) {
  v1::PlanRequest out;
  out.set_tokenizer(r.tokenizer());
  out.set_seq_len(r.seq_len());
  out.set_no_dedup(r.no_dedup());
  out.set_filter_preset(r.filter_preset());
  return out;
}

// The longest one attempt may take; a hung server is then given up for another holder.
constexpr absl::Duration kAttemptTimeout = absl::Seconds(30);
// Tokens fetched per request and part at most, when batches are small (about 512 KiB).
constexpr uint64_t kWindowTokens = uint64_t{1} << 18;

}  // namespace

absl::Status ReaderOptions::Validate() const {
  if (servers.empty()) return absl::InvalidArgumentError("no server given");
  if (request.tokenizer().empty()) return absl::InvalidArgumentError("no tokenizer in the request");
  if (prefetch_batches < 1) return absl::InvalidArgumentError("prefetch_batches must be >= 1");
  if (initial_backoff <= absl::ZeroDuration() || max_backoff < initial_backoff) {
    return absl::InvalidArgumentError("backoffs must be positive, max >= initial");
  }
  if (fetch_threads < 0 || fetch_threads > 256) {
    return absl::InvalidArgumentError("fetch_threads must be in [0, 256]");
  }
  return Mixture::Parse(request.mix()).status();
}

// Thread-safety: the public methods as Reader says; the planner and worker threads share the
// job and task queues under mu_.
class Reader::Impl {
 public:
  explicit Impl(ReaderOptions options)
      : options_(std::move(options)), delivered_cursor_(options_.request.start_cursor()) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);  // responses are bounded by the servers' limits
    for (const std::string& server : options_.servers) {
      stubs_.push_back(v1::ShardService::NewStub(
          grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args)));
    }
  }

  void Start() {
    planner_ = std::thread([this] { Plan(); });
  }

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      for (grpc::ClientContext* c : in_flight_) c->TryCancel();
    }
    if (planner_.joinable()) planner_.join();
    for (std::thread& t : workers_) t.join();
  }

  absl::StatusOr<bool> Next(v1::Batch* batch) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return jobs_.empty() ? (end_ || !final_status_.ok()) : jobs_.front()->done;
    };
    mu_.Await(absl::Condition(&ready));
    if (jobs_.empty()) {
      if (!final_status_.ok()) return final_status_;
      return false;
    }
    std::unique_ptr<Job> job = std::move(jobs_.front());
    jobs_.pop_front();
    if (!job->status.ok()) {
      // Later batches may be fine, but the stream cannot skip this one: it ends here.
      final_status_ = job->status;
      stopping_ = true;
      for (grpc::ClientContext* c : in_flight_) c->TryCancel();
      jobs_.clear();
      return final_status_;
    }
    *batch = std::move(job->batch);
    delivered_cursor_ = batch->cursor();
    return true;
  }

  std::string cursor() const { return delivered_cursor_; }

  uint64_t reconnects() const {
    absl::MutexLock lock(&mu_);
    return reconnects_;
  }

 private:
  // One batch being fetched: its rows arrive from one or more tasks.
  struct Job {
    v1::Batch batch;
    char* tokens = nullptr;  // batch.tokens()'s buffer, sized before any task runs
    int pending = 0;  // tasks not finished
    absl::Status status;
    bool done = false;
  };
  // The rows of a window of jobs that one part holds, fetched with one request.
  struct Task {
    std::vector<Job*> jobs;  // the jobs it fills (each once)
    uint32_t partition;
    // (job, row) for each of the request's sequences, in order.
    std::vector<std::pair<Job*, uint32_t>> rows;
    v1::SequencesRequest request;
  };

  void Plan();
  void Work();
  absl::Status Discover();
  // One task's response, from a holder of its part: retries and fails over.
  absl::Status Fetch(const Task& task, v1::SequencesResponse* response);
  // DATA_LOSS when the response does not have the requested shape.
  absl::Status Fill(const Task& task, v1::SequencesResponse* response);
  // Sleeps a jittered `backoff`, returning early when stopping; false when stopping.
  bool Backoff(absl::Duration backoff) ABSL_LOCKS_EXCLUDED(mu_);
  void Fail(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  const ReaderOptions options_;
  std::vector<std::unique_ptr<v1::ShardService::Stub>> stubs_;
  std::string delivered_cursor_;  // owned by the Next() caller
  std::thread planner_;
  std::vector<std::thread> workers_;  // started by the planner after discovery

  // Set by Discover() before any worker starts; constant afterwards.
  std::optional<PartDirectory> directory_;
  std::vector<size_t> report_server_;  // report index → server index
  std::shared_ptr<const StreamPlan> plan_;
  v1::TokenDtype dtype_ = v1::TOKEN_DTYPE_UINT16;
  uint32_t width_ = 2;
  uint64_t max_request_tokens_ = 0;

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);  // in order; front = next batch
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool end_ ABSL_GUARDED_BY(mu_) = false;  // no more jobs will be queued
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  uint64_t reconnects_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);
};

void Reader::Impl::Fail(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (final_status_.ok()) final_status_ = std::move(status);
  end_ = true;
}

bool Reader::Impl::Backoff(absl::Duration backoff) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  // Full jitter: a uniform fraction of the backoff, so many clients do not retry in lockstep.
  const double fraction = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff * fraction);
  return !stopping_;
}

absl::Status Reader::Impl::Discover() {
  const v1::PlanRequest plan_request = PlanRequestOf(options_.request);
  const absl::Time start = absl::Now();
  std::vector<std::optional<v1::PlanResponse>> answers(stubs_.size());
  absl::Duration backoff = options_.initial_backoff;
  std::string last_error;
  absl::Status directory_error;
  while (true) {
    for (size_t i = 0; i < stubs_.size(); ++i) {
      if (answers[i].has_value()) continue;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return absl::CancelledError("the reader was closed");
        in_flight_.insert(&context);
      }
      v1::PlanResponse response;
      grpc::Status s = stubs_[i]->GetPlan(&context, plan_request, &response);
      {
        absl::MutexLock lock(&mu_);
        in_flight_.erase(&context);
      }
      if (s.ok()) {
        answers[i] = std::move(response);
      } else if (!Retryable(s.error_code())) {
        return FromGrpc(s, options_.servers[i]);
      } else {
        last_error = absl::StrCat(options_.servers[i], ": ", s.error_message());
      }
    }
    // Build the directory from those that answered: enough when every partition is held.
    std::vector<HolderReport> reports;
    report_server_.clear();
    std::optional<Hash128> filters;
    max_request_tokens_ = UINT64_MAX;
    for (size_t i = 0; i < answers.size(); ++i) {
      if (!answers[i].has_value()) continue;
      const v1::PlanResponse& a = *answers[i];
      const Hash128 f{a.filters_hi(), a.filters_lo()};
      if (filters.has_value() && *filters != f) {
        return absl::FailedPreconditionError(absl::StrCat(
            options_.servers[i], " applies other filter rules than ",
            options_.servers[report_server_.front()], "; run the same shardstream version"));
      }
      filters = f;
      HolderReport r;
      r.holder = options_.servers[i];
      r.partitions = a.partitions();
      r.held.assign(a.held_partitions().begin(), a.held_partitions().end());
      for (const v1::PlanPart& p : a.parts()) {
        r.parts.push_back(PartSize{PartKey{p.source(), p.partition()},
                                   Hash128{p.version_hi(), p.version_lo()}, p.docs(), p.tokens(),
                                   p.sequences()});
      }
      r.tokenizer = Hash128{a.tokenizer_hi(), a.tokenizer_lo()};
      r.token_bytes = a.token_bytes();
      r.eos_id = a.eos_id();
      r.vocab_size = a.vocab_size();
      max_request_tokens_ = std::min<uint64_t>(max_request_tokens_, a.max_batch_tokens());
      reports.push_back(std::move(r));
      report_server_.push_back(i);
    }
    if (!reports.empty()) {
      absl::StatusOr<PartDirectory> d = PartDirectory::Build(std::move(reports));
      if (d.ok()) {
        directory_ = std::move(*d);
        StreamParameters parameters;
        parameters.tokenizer = directory_->reports()[0].tokenizer;
        parameters.filters = *filters;
        parameters.seq_len = options_.request.seq_len();
        parameters.seed = options_.request.seed();
        parameters.partitions = directory_->partitions();
        parameters.mixture = *Mixture::Parse(options_.request.mix());  // validated at Open
        absl::StatusOr<std::shared_ptr<const StreamPlan>> plan =
            StreamPlan::Create(std::move(parameters), directory_->parts());
        if (!plan.ok()) return plan.status();
        plan_ = std::move(*plan);
        const uint32_t vocab = directory_->reports()[0].vocab_size;
        dtype_ = options_.request.dtype();
        if (dtype_ == v1::TOKEN_DTYPE_UNSPECIFIED) {
          dtype_ = vocab <= 65536 ? v1::TOKEN_DTYPE_UINT16 : v1::TOKEN_DTYPE_INT32;
        } else if (!v1::TokenDtype_IsValid(dtype_)) {
          return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", dtype_));
        } else if (dtype_ == v1::TOKEN_DTYPE_UINT16 && vocab > 65536) {
          return absl::InvalidArgumentError(absl::StrCat(
              "dtype UINT16 cannot hold the ids of tokenizer \"", options_.request.tokenizer(),
              "\" (", vocab, " ids); ask for INT32"));
        }
        width_ = dtype_ == v1::TOKEN_DTYPE_UINT16 ? 2 : 4;
        return absl::OkStatus();
      }
      directory_error = d.status();
      // Every server answered: waiting cannot fill the gap or settle the disagreement.
      if (report_server_.size() == stubs_.size()) return directory_error;
    }
    if (absl::Now() - start >= options_.retry_deadline) {
      if (!directory_error.ok()) return directory_error;
      return absl::UnavailableError(absl::StrCat("no server answered within ",
                                                 absl::FormatDuration(options_.retry_deadline),
                                                 "; last error from ", last_error));
    }
    if (!Backoff(backoff)) return absl::CancelledError("the reader was closed");
    backoff = std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&mu_);
    ++reconnects_;
  }
}

void Reader::Impl::Plan() {
  if (absl::Status s = Discover(); !s.ok()) return Fail(std::move(s));
  RankOptions rank;
  rank.rank = options_.request.rank();
  rank.world_size = options_.request.world_size() == 0 ? 1 : options_.request.world_size();
  rank.batch_size = options_.request.batch_size();
  rank.epochs = options_.request.epochs();
  const uint32_t seq_len = options_.request.seq_len();
  if (uint64_t{rank.batch_size} * seq_len > max_request_tokens_) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "batch_size × seq_len = ", uint64_t{rank.batch_size} * seq_len,
        " tokens is above the servers' limit ", max_request_tokens_, "; use smaller batches")));
  }
  absl::StatusOr<RankSchedule> schedule =
      RankSchedule::Create(plan_, rank, options_.request.start_cursor());
  if (!schedule.ok()) return Fail(schedule.status());
  const size_t parts = plan_->parts().size();
  const int threads = options_.fetch_threads > 0
                          ? options_.fetch_threads
                          : static_cast<int>(std::clamp<size_t>(
                                options_.prefetch_batches * std::min<size_t>(parts, 4), 2, 16));
  {
    absl::MutexLock lock(&mu_);
    last_progress_ = absl::Now();
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  const uint64_t rows_per_request = std::max<uint64_t>(1, max_request_tokens_ / seq_len);
  // Batches are fetched in windows of about kWindowTokens: one request per part and window, so
  // small batches do not cost a round trip each. Two windows may be in flight.
  const uint64_t batch_tokens = uint64_t{rank.batch_size} * seq_len;
  const size_t window =
      static_cast<size_t>(std::clamp<uint64_t>(kWindowTokens / batch_tokens, 1, 64));
  const size_t max_jobs = std::max(options_.prefetch_batches, 2 * window);
  std::vector<StreamPlan::Row> rows;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || jobs_.size() + window <= max_jobs;
      };
      mu_.Await(absl::Condition(&room));
      if (stopping_) return;
    }
    std::vector<std::unique_ptr<Job>> jobs;
    // Per part: (job, row, plan row) in stream order.
    std::vector<std::vector<std::tuple<Job*, uint32_t, StreamPlan::Row>>> by_part(parts);
    bool last = false;
    while (jobs.size() < window) {
      const std::optional<RankSchedule::Slot> slot = schedule->Current();
      if (!slot.has_value()) {
        last = true;
        break;
      }
      auto job = std::make_unique<Job>();
      v1::Batch& b = job->batch;
      b.set_dtype(dtype_);
      b.set_rows(rank.batch_size);
      b.set_seq_len(seq_len);
      b.set_epoch(slot->epoch);
      b.set_step(slot->step);
      b.set_rank(rank.rank);
      b.mutable_tokens()->resize(size_t{rank.batch_size} * seq_len * width_);
      job->tokens = b.mutable_tokens()->data();
      if (options_.request.doc_boundaries()) {
        for (uint32_t r = 0; r < rank.batch_size; ++r) b.add_doc_starts();
      }
      schedule->Rows(*slot, &rows);
      schedule->Advance();
      b.set_cursor(schedule->cursor());
      for (uint32_t r = 0; r < rows.size(); ++r) {
        by_part[rows[r].part].emplace_back(job.get(), r, rows[r]);
      }
      jobs.push_back(std::move(job));
    }
    // Rows of a part come in increasing (epoch, sequence) order, so neighbours merge into runs.
    std::vector<Task> tasks;
    for (uint32_t p = 0; p < parts; ++p) {
      const PartSize& part = plan_->parts()[p];
      for (size_t at = 0; at < by_part[p].size(); at += rows_per_request) {
        Task task;
        task.partition = part.key.partition;
        v1::SequencesRequest& q = task.request;
        *q.mutable_plan() = PlanRequestOf(options_.request);
        q.set_seed(options_.request.seed());
        q.set_source(part.key.source);
        q.set_partition(part.key.partition);
        q.set_version_hi(part.version.hi);
        q.set_version_lo(part.version.lo);
        q.set_dtype(dtype_);
        q.set_doc_boundaries(options_.request.doc_boundaries());
        const size_t end = std::min<size_t>(by_part[p].size(), at + rows_per_request);
        for (size_t i = at; i < end; ++i) {
          const auto& [job, r, row] = by_part[p][i];
          const int n = q.runs_size();
          if (n > 0 && q.runs(n - 1).epoch() == row.part_epoch &&
              q.runs(n - 1).first() + q.runs(n - 1).count() == row.sequence) {
            q.mutable_runs(n - 1)->set_count(q.runs(n - 1).count() + 1);
          } else {
            v1::SequenceRun* run = q.add_runs();
            run->set_epoch(row.part_epoch);
            run->set_first(row.sequence);
            run->set_count(1);
          }
          task.rows.emplace_back(job, r);
          if (task.jobs.empty() || task.jobs.back() != job) task.jobs.push_back(job);
        }
        tasks.push_back(std::move(task));
      }
    }
    absl::MutexLock lock(&mu_);
    for (Task& t : tasks) {
      for (Job* j : t.jobs) ++j->pending;
      tasks_.push_back(std::move(t));
    }
    for (auto& j : jobs) jobs_.push_back(std::move(j));
    if (last) {
      end_ = true;
      return;
    }
  }
}

void Reader::Impl::Work() {
  v1::SequencesResponse response;
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      auto has_task = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !tasks_.empty();
      };
      mu_.Await(absl::Condition(&has_task));
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    absl::Status status = Fetch(task, &response);
    if (status.ok()) status = Fill(task, &response);
    absl::MutexLock lock(&mu_);
    for (Job* job : task.jobs) {
      if (!status.ok() && job->status.ok()) job->status = status;
      if (--job->pending == 0) job->done = true;
    }
  }
}

absl::Status Reader::Impl::Fetch(const Task& task, v1::SequencesResponse* response) {
  const std::vector<size_t>& holders = directory_->holders(task.partition);
  // Spread the ranks over replicas; any holder answers the same bytes.
  size_t attempt = (task.partition + options_.request.rank()) % holders.size();
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    const size_t server = report_server_[holders[attempt % holders.size()]];
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(
        absl::Now() + std::min(kAttemptTimeout, options_.retry_deadline)));
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return absl::CancelledError("the reader was closed");
      in_flight_.insert(&context);
    }
    response->Clear();
    grpc::Status s = stubs_[server]->ReadSequences(&context, task.request, response);
    absl::Duration idle;
    {
      absl::MutexLock lock(&mu_);
      in_flight_.erase(&context);
      if (stopping_) return absl::CancelledError("the reader was closed");
      if (s.ok()) {
        last_progress_ = absl::Now();
        return absl::OkStatus();
      }
      idle = absl::Now() - last_progress_;
      if (Retryable(s.error_code()) && idle < options_.retry_deadline) ++reconnects_;
    }
    if (!Retryable(s.error_code())) return FromGrpc(s, options_.servers[server]);
    if (idle >= options_.retry_deadline) {
      return absl::UnavailableError(absl::StrCat(
          "no data for ", absl::FormatDuration(idle), " while retrying partition ",
          task.partition, " on ", holders.size(), " holder(s); last error from ",
          options_.servers[server], ": ", s.error_message()));
    }
    ++attempt;
    if (!Backoff(backoff)) return absl::CancelledError("the reader was closed");
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status Reader::Impl::Fill(const Task& task, v1::SequencesResponse* response) {
  // Tasks write disjoint rows of their jobs' preallocated buffers: no lock needed.
  const size_t row_bytes = size_t{options_.request.seq_len()} * width_;
  const std::string& tokens = response->tokens();
  const bool starts = options_.request.doc_boundaries();
  if (tokens.size() != task.rows.size() * row_bytes ||
      (starts && response->doc_starts_size() != static_cast<int>(task.rows.size()))) {
    return absl::DataLossError(absl::StrCat("a response for partition ", task.partition, " has ",
                                            tokens.size(), " bytes, not ",
                                            task.rows.size() * row_bytes));
  }
  for (size_t i = 0; i < task.rows.size(); ++i) {
    const auto& [job, row] = task.rows[i];
    std::memcpy(job->tokens + row * row_bytes, tokens.data() + i * row_bytes, row_bytes);
    if (starts) {
      job->batch.mutable_doc_starts(static_cast<int>(row))->Swap(
          response->mutable_doc_starts(static_cast<int>(i)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(ReaderOptions options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->Start();
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

absl::StatusOr<bool> Reader::Next(v1::Batch* batch) { return impl_->Next(batch); }
std::string Reader::cursor() const { return impl_->cursor(); }
uint64_t Reader::reconnects() const { return impl_->reconnects(); }

}  // namespace shardstream
