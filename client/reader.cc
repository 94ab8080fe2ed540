#include "client/reader.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "client/discovery.h"
#include "client/server_set.h"
#include "common/mixture.h"
#include "common/reader_metadata.h"
#include "common/rank_schedule.h"
#include "common/stream_plan.h"

namespace shardstream {
namespace {

// Tokens fetched per request and part at most, when batches are small (about 512 KiB).
constexpr uint64_t kWindowTokens = uint64_t{1} << 18;

RetryPolicy PolicyOf(const ReaderOptions& o) {
  RetryPolicy p;
  p.retry_deadline = o.retry_deadline;
  p.initial_backoff = o.initial_backoff;
  p.max_backoff = o.max_backoff;
  p.attempt_timeout = std::min(p.attempt_timeout, o.retry_deadline);
  return p;
}

// This reader's id and rank, sent with every call (common/reader_metadata.h).
std::vector<std::pair<std::string, std::string>> MetadataOf(const ReaderOptions& o) {
  const uint64_t id = std::random_device{}() * uint64_t{0x100000000} ^ std::random_device{}() ^
                      static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  return {{kReaderIdMetadata, absl::StrFormat("%016x", id)},
          {kReaderRankMetadata,
           absl::StrCat(o.request.rank(), "/", std::max<uint32_t>(o.request.world_size(), 1))}};
}

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
  if (!(retry_deadline > absl::ZeroDuration()) || retry_deadline == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("retry_deadline must be positive and finite");
  }
  if (absl::Status s = security.Validate(); !s.ok()) return s;
  return Mixture::Parse(request.mix()).status();
}

// The interleaver: owns the order of rows and the cursor. A planner thread runs discovery,
// then cuts the rank's batches into windows and their rows into one request per part and
// window; fetch threads send the requests through the ServerSet (retry, failover) and fill the
// rows in; Next() hands out batches in order. Thread-safety: the public methods as Reader
// says; the threads share the job and task queues under mu_.
class Reader::Impl {
 public:
  Impl(ReaderOptions options, std::unique_ptr<ServerSet> servers)
      : options_(std::move(options)),
        servers_(std::move(servers)),
        delivered_cursor_(options_.request.start_cursor()) {}

  void Start() {
    planner_ = std::thread([this] { Plan(); });
  }

  ~Impl() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    servers_->Cancel();
    if (planner_.joinable()) planner_.join();
    for (std::thread& t : workers_) t.join();
  }

  absl::StatusOr<bool> Next(v1::Batch* batch, absl::Duration timeout) {
    std::unique_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return jobs_.empty() ? (end_ || !final_status_.ok()) : jobs_.front()->done;
      };
      if (!mu_.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
        return absl::DeadlineExceededError("no batch yet; call again");
      }
      if (jobs_.empty()) {
        if (!final_status_.ok()) return final_status_;
        return false;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
      if (!job->status.ok()) {
        // Later batches may be fine, but the stream cannot skip this one: it ends here.
        final_status_ = job->status;
        stopping_ = true;
        jobs_.clear();
      }
    }
    if (!job->status.ok()) {
      servers_->Cancel();
      return job->status;
    }
    *batch = std::move(job->batch);
    delivered_cursor_ = batch->cursor();
    return true;
  }

  std::string cursor() const { return delivered_cursor_; }
  uint64_t reconnects() const { return servers_->retries(); }

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
  // DATA_LOSS when the response does not have the requested shape.
  absl::Status Fill(const Task& task, v1::SequencesResponse* response);
  void Fail(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);

  const ReaderOptions options_;
  const std::unique_ptr<ServerSet> servers_;
  std::string delivered_cursor_;  // owned by the Next() caller
  std::thread planner_;
  std::vector<std::thread> workers_;  // started by the planner after discovery

  // Set by the planner before any worker starts; constant afterwards.
  std::optional<Discovery> discovery_;

  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<Job>> jobs_ ABSL_GUARDED_BY(mu_);  // in order; front = next batch
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool end_ ABSL_GUARDED_BY(mu_) = false;  // no more jobs will be queued
  absl::Status final_status_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

void Reader::Impl::Fail(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (final_status_.ok()) final_status_ = std::move(status);
  end_ = true;
}

void Reader::Impl::Plan() {
  absl::StatusOr<Discovery> discovered = Discover(*servers_, options_.request);
  if (!discovered.ok()) return Fail(discovered.status());
  discovery_ = std::move(*discovered);
  const std::shared_ptr<const StreamPlan>& plan = discovery_->plan;
  const uint64_t max_request_tokens = discovery_->max_request_tokens;
  const uint32_t width = discovery_->width;
  RankOptions rank;
  rank.rank = options_.request.rank();
  rank.world_size = options_.request.world_size() == 0 ? 1 : options_.request.world_size();
  rank.batch_size = options_.request.batch_size();
  rank.epochs = options_.request.epochs();
  const uint32_t seq_len = options_.request.seq_len();
  if (uint64_t{rank.batch_size} * seq_len > max_request_tokens) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "batch_size × seq_len = ", uint64_t{rank.batch_size} * seq_len,
        " tokens is above the servers' limit ", max_request_tokens, "; use smaller batches")));
  }
  absl::StatusOr<RankSchedule> schedule =
      RankSchedule::Create(plan, rank, options_.request.start_cursor());
  if (!schedule.ok()) return Fail(schedule.status());
  const size_t parts = plan->parts().size();
  const int threads = options_.fetch_threads > 0
                          ? options_.fetch_threads
                          : static_cast<int>(std::clamp<size_t>(
                                options_.prefetch_batches * std::min<size_t>(parts, 4), 2, 16));
  servers_->MarkProgress();
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  // A response holds at most the servers' limit, and at most 4 windows' worth of tokens even
  // for big batches, so no single message gets large.
  const uint64_t rows_per_request =
      std::max<uint64_t>(1, std::min(max_request_tokens, 4 * kWindowTokens) / seq_len);
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
      b.set_dtype(discovery_->dtype);
      b.set_rows(rank.batch_size);
      b.set_seq_len(seq_len);
      b.set_epoch(slot->epoch);
      b.set_step(slot->step);
      b.set_rank(rank.rank);
      b.mutable_tokens()->resize(size_t{rank.batch_size} * seq_len * width);
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
      const PartSize& part = plan->parts()[p];
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
        q.set_dtype(discovery_->dtype);
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
    // Spread the ranks over replicas; any holder answers the same bytes.
    const std::vector<size_t>& holders = discovery_->holders[task.partition];
    absl::Status status =
        servers_->ReadSequences(holders, task.partition + options_.request.rank(), task.partition,
                               task.request, &response);
    if (status.ok()) status = Fill(task, &response);
    absl::MutexLock lock(&mu_);
    for (Job* job : task.jobs) {
      if (!status.ok() && job->status.ok()) job->status = status;
      if (--job->pending == 0) job->done = true;
    }
  }
}

absl::Status Reader::Impl::Fill(const Task& task, v1::SequencesResponse* response) {
  // Tasks write disjoint rows of their jobs' preallocated buffers: no lock needed.
  const size_t row_bytes = size_t{options_.request.seq_len()} * discovery_->width;
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
  absl::StatusOr<std::unique_ptr<ServerSet>> servers =
      ServerSet::Create(options.servers, PolicyOf(options), options.security, MetadataOf(options));
  if (!servers.ok()) return servers.status();
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*servers));
  impl->Start();
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

absl::StatusOr<bool> Reader::Next(v1::Batch* batch) {
  return impl_->Next(batch, absl::InfiniteDuration());
}
absl::StatusOr<bool> Reader::NextWithin(v1::Batch* batch, absl::Duration timeout) {
  return impl_->Next(batch, timeout);
}
std::string Reader::cursor() const { return impl_->cursor(); }
uint64_t Reader::reconnects() const { return impl_->reconnects(); }

}  // namespace shardstream
