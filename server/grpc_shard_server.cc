#include "server/grpc_shard_server.h"

#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <functional>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/reader_metadata.h"
#include "server/batches_ahead.h"
#include "server/layout_cache.h"
#include "server/usable_cores.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::StatusCode CodeOf(const grpc::Status& s) {
  return static_cast<absl::StatusCode>(s.error_code());
}

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

std::string ShortVersion(const Catalog& catalog) { return catalog.version().ToHex().substr(0, 16); }

}  // namespace

absl::Status ShardServerOptions::Validate() const {
  for (const auto& [flag, address] : {std::pair<const char*, const std::string*>{"listen", &listen},
                                      {"health-listen", &health_listen},
                                      {"metrics-listen", &metrics_listen}}) {
    if ((flag == std::string("listen") || !address->empty()) &&
        (address->empty() || address->find(':') == std::string::npos)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " must be HOST:PORT, got \"", address->substr(0, 128), "\""));
    }
  }
  if (threads < 0 || threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be in [0, 1024], got ", threads));
  }
  if (write_timeout < absl::Milliseconds(100) || write_timeout > absl::Hours(24)) {
    return absl::InvalidArgumentError("--write-timeout-seconds must be in [0.1, 86400]");
  }
  if (keepalive_time < absl::Seconds(1) || keepalive_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("keepalive times must be at least 1 s");
  }
  // `security` is checked (its files read) once, where the credentials are made.
  return limits.Validate();
}

// The open streams' writes, watched: a Write() blocked (the client's flow-control window
// full) for longer than the write timeout has its call cancelled, which ends the Write().
class ShardServer::StallWatch {
 public:
  struct Entry {
    grpc::ServerContext* context;
    std::atomic<int64_t> writing_since_ns{0};  // 0: not in a Write()
    std::atomic<bool> stalled{false};
  };

  // `on_tick` runs on the watch's thread at every check (the reader sessions' reaping).
  StallWatch(absl::Duration timeout, ServerMetrics* metrics, std::function<void()> on_tick)
      : timeout_(timeout),
        metrics_(metrics),
        on_tick_(std::move(on_tick)),
        thread_([this] { Run(); }) {}
  ~StallWatch() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  void Add(Entry* entry) {
    absl::MutexLock lock(&mu_);
    entries_.insert(entry);
  }
  void Remove(Entry* entry) {
    absl::MutexLock lock(&mu_);
    entries_.erase(entry);
  }

 private:
  void Run() {
    const absl::Duration tick =
        std::clamp(timeout_ / 8, absl::Milliseconds(20), absl::Seconds(1));
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(&stop_), tick)) return;
        const int64_t now = absl::GetCurrentTimeNanos();
        for (Entry* e : entries_) {
          const int64_t since = e->writing_since_ns.load();
          if (since != 0 && now - since > absl::ToInt64Nanoseconds(timeout_) &&
              !e->stalled.exchange(true)) {
            e->context->TryCancel();
            metrics_->StalledStreamCancelled();
          }
        }
      }
      on_tick_();
    }
  }

  const absl::Duration timeout_;
  ServerMetrics* const metrics_;
  const std::function<void()> on_tick_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::set<Entry*> entries_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after the members it uses
};

// Each handler is one call into the logic of the current catalog version, held for the
// call's duration; only StreamBatches loops, moving messages. Until the server serves a
// catalog, every call gets UNAVAILABLE with the preparation's progress (a client retries;
// Kubernetes keeps the pod unready).
class ShardServer::Service final : public v1::ShardService::Service {
 public:
  explicit Service(ShardServer* server) : server_(server) {}

  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest* request,
                       v1::GetInfoResponse* response) override {
    grpc::Status s = Unary(
        "GetInfo", server_->logic(),
        [](ShardServiceLogic* logic, const v1::GetInfoRequest&) { return logic->GetInfo(); },
        *request, response);
    if (s.ok()) {
      for (const auto& older : server_->OlderVersions()) {
        response->add_previous_versions(older->catalog().version().ToHex());
      }
    }
    return s;
  }

  grpc::Status Decode(grpc::ServerContext*, const v1::DecodeRequest* request,
                      v1::DecodeResponse* response) override {
    return Unary("Decode", server_->logic(), std::mem_fn(&ShardServiceLogic::Decode), *request,
                 response);
  }

  grpc::Status GetPlan(grpc::ServerContext* context, const v1::PlanRequest* request,
                       v1::PlanResponse* response) override {
    std::shared_ptr<ShardServiceLogic> logic = server_->logic();
    grpc::Status s = Unary("GetPlan", logic, std::mem_fn(&ShardServiceLogic::GetPlan), *request,
                           response);
    Track(context, *request, logic.get(), 0, 0, s);
    return s;
  }

  grpc::Status ReadSequences(grpc::ServerContext* context, const v1::SequencesRequest* request,
                             v1::SequencesResponse* response) override {
    if (server_->shutting_down_.load()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the server is shutting down; ask another holder of the part or retry");
    }
    std::shared_ptr<ShardServiceLogic> logic = server_->LogicFor(*request);
    ++server_->busy_calls_;  // a core taken while it reads (BatchesAhead's auto counts it)
    grpc::Status s = Unary("ReadSequences", logic, std::mem_fn(&ShardServiceLogic::ReadSequences),
                           *request, response);
    --server_->busy_calls_;
    const uint64_t tokens = uint64_t{response->sequences()} * response->seq_len();
    if (s.ok()) server_->metrics_.SequencesSent(tokens, response->tokens().size());
    Track(context, request->plan(), logic.get(), s.ok() ? response->sequences() : 0,
          s.ok() ? tokens : 0, s);
    return s;
  }

  // Write() blocks while the client's flow-control window is full, so a slow reader holds one
  // batch here (plus gRPC's window), never more, and for at most the write timeout.
  grpc::Status StreamBatches(grpc::ServerContext* context, const v1::StreamRequest* request,
                             grpc::ServerWriter<v1::Batch>* writer) override {
    std::shared_ptr<ShardServiceLogic> logic = server_->logic();
    if (logic == nullptr) return NotReady();
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<ServedStream>> stream = logic->OpenStream(*request);
    if (!stream.ok()) {
      server_->metrics_.CallEnded("StreamBatches", stream.status().code());
      return ToGrpc(stream.status());
    }
    const std::string rank =
        absl::StrCat(request->rank(), "/", request->world_size() == 0 ? 1 : request->world_size());
    LogEvent(LogSeverity::kInfo, "stream opened",
             {{"peer", context->peer()},
              {"rank", rank},
              {"tokenizer", request->tokenizer().substr(0, 64)},
              {"seq_len", absl::StrCat(request->seq_len())},
              {"batch_size", absl::StrCat(request->batch_size())},
              {"mix", request->mix().substr(0, 128)},
              {"resumed", request->start_cursor().empty() ? "false" : "true"},
              {"dataset", ShortVersion(logic->catalog())}});
    server_->metrics_.StreamOpened();
    StallWatch::Entry watched{context};
    server_->stalls_->Add(&watched);
    uint64_t batches = 0, tokens = 0;
    ++server_->busy_calls_;
    grpc::Status status = Loop(context, writer, stream->get(), start, &watched, &batches, &tokens);
    --server_->busy_calls_;
    server_->stalls_->Remove(&watched);
    stream->reset();  // the slot is free before the client sees the end
    if (status.error_code() == grpc::StatusCode::CANCELLED) {
      server_->metrics_.ClientCancelled();
    }
    const absl::Duration duration = absl::Now() - start;
    server_->metrics_.StreamEnded(CodeOf(status), duration);
    LogEvent(LogSeverity::kInfo, "stream ended",
             {{"peer", context->peer()},
              {"rank", rank},
              {"dataset", ShortVersion(logic->catalog())},
              {"batches", absl::StrCat(batches)},
              {"tokens", absl::StrCat(tokens)},
              {"seconds", absl::StrFormat("%.3f", absl::ToDoubleSeconds(duration))},
              {"status", std::string(absl::StatusCodeToString(CodeOf(status)))},
              {"detail", status.error_message().substr(0, 200)}});
    return status;
  }

 private:
  // Counts a Reader's call in its session (ReaderSessions), by the id it sends.
  void Track(grpc::ServerContext* context, const v1::PlanRequest& plan,
             const ShardServiceLogic* logic, uint64_t sequences, uint64_t tokens,
             const grpc::Status& status) {
    const auto& metadata = context->client_metadata();
    auto id = metadata.find(kReaderIdMetadata);
    if (id == metadata.end()) return;
    auto rank = metadata.find(kReaderRankMetadata);
    ReaderSessions::Call call;
    call.reader.assign(id->second.data(), id->second.size());
    if (rank != metadata.end()) call.rank.assign(rank->second.data(), rank->second.size());
    call.peer = context->peer();
    call.plan = absl::StrCat(plan.tokenizer().substr(0, 64), "/", plan.seq_len(),
                             plan.no_dedup() ? "/no-dedup" : "",
                             plan.filter_preset().empty() || plan.filter_preset() == "none"
                                 ? ""
                                 : "/" + plan.filter_preset().substr(0, 32));
    if (logic != nullptr) call.dataset = ShortVersion(logic->catalog());
    call.sequences = sequences;
    call.tokens = tokens;
    call.code = CodeOf(status);
    server_->readers_->Seen(call);
  }

  grpc::Status Loop(grpc::ServerContext* context, grpc::ServerWriter<v1::Batch>* writer,
                    ServedStream* stream, absl::Time start, StallWatch::Entry* watched,
                    uint64_t* batches, uint64_t* tokens) {
    // With a core to spare, the next batches are made while this one is written.
    BatchesAhead ahead(stream, [server = server_] {
      switch (server->options_.make_ahead) {
        case ShardServerOptions::MakeAhead::kAlways:
          return true;
        case ShardServerOptions::MakeAhead::kNever:
          return false;
        case ShardServerOptions::MakeAhead::kWhenCoresSpare:
          break;
      }
      return server->busy_calls_.load() < server->cores_;
    });
    while (!context->IsCancelled()) {
      if (server_->shutting_down_.load()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the server is shutting down; resume from the last batch's cursor on "
                            "another server or after it restarts");
      }
      absl::StatusOr<const v1::Batch*> next = ahead.Next();
      if (!next.ok()) return ToGrpc(next.status());
      if (*next == nullptr) return grpc::Status::OK;
      const v1::Batch& batch = **next;
      watched->writing_since_ns.store(absl::GetCurrentTimeNanos());
      const bool written = writer->Write(batch);
      watched->writing_since_ns.store(0);
      if (!written) break;  // the client went away, or stopped reading (StallWatch)
      if (*batches == 0) server_->metrics_.FirstBatch(absl::Now() - start);
      ++*batches;
      *tokens += uint64_t{batch.rows()} * batch.seq_len();
      server_->metrics_.BatchSent(uint64_t{batch.rows()} * batch.seq_len(),
                                  batch.tokens().size());
    }
    if (watched->stalled.load()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          absl::StrCat("the client took no batch for ",
                                       absl::FormatDuration(server_->options_.write_timeout),
                                       " (--write-timeout-seconds); resume from the last "
                                       "batch's cursor"));
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream");
  }

  // A unary call: `call(logic, request)` once the server serves a catalog, its result moved
  // into `response` and its status converted.
  template <typename Call, typename Request, typename Response>
  grpc::Status Unary(const char* method, const std::shared_ptr<ShardServiceLogic>& logic,
                     Call call, const Request& request, Response* response) const {
    if (logic == nullptr) return NotReady();
    absl::StatusOr<Response> out = call(logic.get(), request);
    if (out.ok()) *response = std::move(*out);
    server_->metrics_.CallEnded(method, out.status().code());
    return ToGrpc(out.status());
  }

  grpc::Status NotReady() const {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("the server is not ready yet (", server_->preparing(), "); retry"));
  }

  ShardServer* const server_;
};

ShardServer::ShardServer() : cores_(UsableCores()) {}

absl::StatusOr<std::unique_ptr<ShardServer>> ShardServer::Start(const Catalog* catalog,
                                                                const ShardServerOptions& options) {
  absl::StatusOr<std::unique_ptr<ShardServer>> server = StartPreparing(options);
  if (server.ok()) (*server)->Serve(catalog);
  return server;
}

void ShardServer::SetPreparing(std::string what) {
  absl::MutexLock lock(&preparing_mu_);
  preparing_ = std::move(what);
}

std::string ShardServer::preparing() const {
  absl::MutexLock lock(&preparing_mu_);
  return preparing_;
}

std::shared_ptr<ShardServiceLogic> ShardServer::logic() const {
  absl::MutexLock lock(&versions_mu_);
  return current_;
}

std::shared_ptr<ShardServiceLogic> ShardServer::LogicFor(
    const v1::SequencesRequest& request) const {
  absl::MutexLock lock(&versions_mu_);
  if (current_ == nullptr || current_->HoldsPartVersion(request)) return current_;
  const absl::Time now = absl::Now();
  std::erase_if(kept_, [now](const Kept& k) { return now - k.last_used > kKeepUnusedFor; });
  for (Kept& kept : kept_) {
    if (kept.logic->HoldsPartVersion(request)) {
      kept.last_used = now;
      return kept.logic;
    }
  }
  for (const auto& weak : retired_) {
    if (auto logic = weak.lock(); logic != nullptr && logic->HoldsPartVersion(request)) {
      return logic;
    }
  }
  return current_;
}

std::vector<std::shared_ptr<ShardServiceLogic>> ShardServer::OlderVersions() const {
  absl::MutexLock lock(&versions_mu_);
  std::vector<std::shared_ptr<ShardServiceLogic>> out;
  for (auto it = retired_.rbegin(); it != retired_.rend(); ++it) {  // newest first
    if (auto logic = it->lock()) out.push_back(std::move(logic));
  }
  return out;
}

void ShardServer::Serve(const Catalog* catalog) {
  Serve(std::shared_ptr<const Catalog>(catalog, [](const Catalog*) {}));
}

void ShardServer::Serve(std::shared_ptr<const Catalog> catalog) {
  auto logic = std::make_shared<ShardServiceLogic>(std::move(catalog), options_.limits, slots_,
                                                   &metrics_);
  bool first;
  {
    absl::MutexLock lock(&versions_mu_);
    first = current_ == nullptr;
    if (!first) {
      const absl::Time now = absl::Now();
      kept_.push_front({current_, now});
      retired_.push_back(current_);
      std::erase_if(kept_, [now](const Kept& k) { return now - k.last_used > kKeepUnusedFor; });
      if (kept_.size() > kMaxKeptVersions) kept_.pop_back();
      std::erase_if(retired_, [](const auto& weak) { return weak.expired(); });
    }
    current_ = std::move(logic);
  }
  if (!first) metrics_.CatalogReloaded();
  if (!shutting_down_.load()) SetHealth(true);
}

ScrapedValues ShardServer::Scrape() const {
  std::vector<std::shared_ptr<ShardServiceLogic>> open = OlderVersions();
  if (std::shared_ptr<ShardServiceLogic> current = logic()) open.push_back(std::move(current));
  ScrapedValues v;
  for (const auto& logic : open) {
    v.plans_cached += logic->plans_cached();
    const LayoutCache::Stats layouts = logic->layouts();
    v.epoch_layouts += layouts.layouts;
    v.epoch_layout_bytes += layouts.bytes;
    const BlockCacheCounts counts = logic->catalog().block_cache_counts();
    v.block_cache_hits += counts.hits;
    v.block_cache_misses += counts.misses;
  }
  v.dataset_versions_open = open.size();
  v.readers_open = readers_->open();
  v.epoch_layouts_built = LayoutCache::BuiltInProcess();
  return v;
}

void ShardServer::SetHealth(bool serving) {
  absl::MutexLock lock(&listen_mu_);
  server_->GetHealthCheckService()->SetServingStatus(serving);
  if (health_server_ != nullptr) health_server_->GetHealthCheckService()->SetServingStatus(serving);
}

// Sees gRPC's log lines (all of them pass here, and go on to the project's log) and counts
// those that say a listening socket stopped accepting; servers poll the count. No lock is
// taken here: gRPC logs from inside calls that hold its own.
class ShardServer::ListenerWatch {
 public:
  static void Install() {
    static std::once_flag once;
    std::call_once(once, [] { gpr_set_log_function(&ListenerWatch::OnLog); });
  }
  static uint64_t failures() { return failures_.load(); }

 private:
  static void OnLog(gpr_log_func_args* args) {
    const LogSeverity severity = args->severity == GPR_LOG_SEVERITY_ERROR  ? LogSeverity::kError
                                 : args->severity == GPR_LOG_SEVERITY_INFO ? LogSeverity::kInfo
                                                                           : LogSeverity::kDebug;
    const absl::string_view file = args->file;
    const absl::string_view base = file.substr(file.rfind('/') + 1);
    LogLine(severity, absl::StrCat("grpc ", base, ":", args->line, ": ", args->message));
    if (absl::StrContains(args->message, "Failed accept4")) failures_.fetch_add(1);
  }

  static inline std::atomic<uint64_t> failures_{0};
};

absl::StatusOr<std::unique_ptr<ShardServer>> ShardServer::StartPreparing(
    const ShardServerOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto server = std::unique_ptr<ShardServer>(new ShardServer());
  ShardServer* self = server.get();
  server->options_ = options;
  server->slots_ = std::make_shared<StreamSlots>(options.limits.max_streams);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = MakeServerCredentials(
      options.security, options.listen, [self] { self->metrics_.Unauthenticated(); });
  if (!credentials.ok()) return credentials.status();
  server->credentials_ = std::move(*credentials);
  server->metrics_.SetScraper([self] { return self->Scrape(); });
  if (!options.metrics_listen.empty()) {
    if (absl::Status s = server->metrics_.Expose(options.metrics_listen); !s.ok()) return s;
  }
  server->readers_ = std::make_unique<ReaderSessions>(options.reader_idle);
  server->stalls_ = std::make_unique<StallWatch>(options.write_timeout, &server->metrics_,
                                                 [self] { self->readers_->Reap(absl::Now()); });
  server->service_ = std::make_unique<Service>(server.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ListenerWatch::Install();
  {
    absl::MutexLock lock(&server->listen_mu_);
    server->accept_failures_seen_ = ListenerWatch::failures();
    if (absl::Status s = server->ListenLocked(options.listen, options.health_listen); !s.ok()) {
      return s;
    }
  }
  server->SetHealth(false);  // until Serve()
  server->relisten_ = std::thread([self] { self->RelistenLoop(); });
  return server;
}

absl::Status ShardServer::ListenLocked(const std::string& listen,
                                       const std::string& health_listen) {
  const ShardServerOptions& options = options_;
  grpc::ServerBuilder builder;
  // No SO_REUSEPORT: a second server on a taken port must fail to start, not share the port
  // (the kernel would split new connections between two catalogs).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Keepalive: ping idle connections, drop those whose peer does not answer (a frozen or
  // vanished client); accept the clients' own pings every 5 s or more (client/channel.h
  // sends one after 10 s without data).
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A connection that has not finished its handshake (TLS, HTTP/2 preface and settings)
  // within 10 s is closed, so idle sockets cannot pile up and hold file descriptors.
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 10 * 60'000);
  int port = 0;
  builder.AddListeningPort(listen, credentials_, &port);
  builder.RegisterService(service_.get());
  // Any response that passes validation must be sendable: per token at most 4 bytes of id and,
  // with document boundaries, one start offset (a varint of at most 3 bytes below 2^21, plus
  // per-row framing).
  builder.SetMaxSendMessageSize(static_cast<int>(options.limits.max_batch_tokens) * 8 + (4 << 20));
  if (options.threads > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, options.threads);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                options.threads);
  }
  grpc::ResourceQuota quota("shardstream");
  // A thread per stream and as many again for unary calls (GetPlan waiting for a plan build,
  // a Reader's ReadSequences windows); beyond that gRPC refuses a call with RESOURCE_EXHAUSTED
  // "Server Threadpool Exhausted", which clients retry after a backoff.
  quota.SetMaxThreads(2 * static_cast<int>(options.limits.max_streams) + 16);
  builder.SetResourceQuota(quota);
  std::unique_ptr<grpc::Server> main = builder.BuildAndStart();
  if (main == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen.substr(0, 128),
                                               " (address in use or not local?)"));
  }
  std::unique_ptr<grpc::Server> probe_server;
  int probe_port = 0;
  if (!health_listen.empty()) {
    // Only the health service (and reflection, whose sync service keeps gRPC 1.51 from
    // refusing a server without one), in plaintext, for probes.
    grpc::ServerBuilder probe;
    probe.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    probe.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10'000);
    probe.AddListeningPort(health_listen, grpc::InsecureServerCredentials(), &probe_port);
    grpc::ResourceQuota probe_quota("shardstream-probe");
    probe_quota.SetMaxThreads(8);
    probe.SetResourceQuota(probe_quota);
    probe_server = probe.BuildAndStart();
    if (probe_server == nullptr || probe_port == 0) {
      main->Shutdown(std::chrono::system_clock::now());
      main->Wait();
      return absl::UnavailableError(absl::StrCat("cannot listen on --health-listen ",
                                                 health_listen.substr(0, 128),
                                                 " (address in use or not local?)"));
    }
  }
  if (server_ != nullptr) old_servers_.push_back(std::move(server_));
  if (health_server_ != nullptr) old_servers_.push_back(std::move(health_server_));
  server_ = std::move(main);
  health_server_ = std::move(probe_server);
  port_ = port;
  health_port_ = probe_port;
  return absl::OkStatus();
}

// gRPC 1.51 stops accepting for good on a listening socket whose accept4() failed (EMFILE,
// ENFILE, ENOBUFS): it logs "Failed accept4" and never polls the socket again. The watch
// counts that line; this loop, seeing the count grow, closes the servers (open calls end: clients resume from
// their cursors, or retry) and listens again on the same ports once file descriptors are
// free, retrying every second.
void ShardServer::RelistenLoop() {
  absl::MutexLock lock(&listen_mu_);
  while (true) {
    listen_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(500));
    if (stopping_) return;
    const uint64_t failures = ListenerWatch::failures();
    if (failures == accept_failures_seen_) continue;
    accept_failures_seen_ = failures;
    LogError("the listening socket hit the open-file limit and gRPC stopped accepting on it; "
             "restarting the listeners (open calls end; clients resume)");
    const auto now = std::chrono::system_clock::now();
    server_->Shutdown(now);
    if (health_server_ != nullptr) health_server_->Shutdown(now);
    server_->Wait();
    if (health_server_ != nullptr) health_server_->Wait();
    const std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
    const std::string health_host =
        options_.health_listen.substr(0, options_.health_listen.rfind(':'));
    for (int attempt = 0; !stopping_; ++attempt) {
      absl::Status s = ListenLocked(
          absl::StrCat(host, ":", port_.load()),
          options_.health_listen.empty() ? "" : absl::StrCat(health_host, ":", health_port_.load()));
      if (s.ok()) {
        metrics_.ListenerRestarted();
        LogWarning("listening again on ", host, ":", port_.load(), " after ", attempt, " retries");
        break;
      }
      listen_mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
    }
    if (stopping_) return;
    const bool serving = logic() != nullptr && !shutting_down_.load();
    server_->GetHealthCheckService()->SetServingStatus(serving);
    if (health_server_ != nullptr) health_server_->GetHealthCheckService()->SetServingStatus(serving);
  }
}

ShardServer::~ShardServer() {
  {
    absl::MutexLock lock(&listen_mu_);
    stopping_ = true;
  }
  if (relisten_.joinable()) relisten_.join();
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(1));
    Wait();
  }
}

void ShardServer::Shutdown(absl::Duration grace) {
  if (!shutting_down_.exchange(true)) readers_->Reap(absl::Now(), /*everyone=*/true);
  SetHealth(false);
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace);
  absl::MutexLock lock(&listen_mu_);
  stopping_ = true;
  // The probe port stays up (saying NOT_SERVING) while the open calls drain.
  server_->Shutdown(deadline);
  if (health_server_ != nullptr) health_server_->Shutdown(std::chrono::system_clock::now());
}

void ShardServer::Wait() {
  // After Shutdown() the servers are no longer replaced.
  {
    absl::MutexLock lock(&listen_mu_);
    listen_mu_.Await(absl::Condition(&stopping_));
  }
  grpc::Server* main;
  grpc::Server* probe;
  {
    absl::MutexLock lock(&listen_mu_);
    main = server_.get();
    probe = health_server_.get();
  }
  main->Wait();
  if (probe != nullptr) probe->Wait();
}

}  // namespace shardstream
