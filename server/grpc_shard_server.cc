#include "server/grpc_shard_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbers.
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

absl::Status ShardServerOptions::Validate() const {
  if (listen.empty() || listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen must be HOST:PORT, got \"", listen, "\""));
  }
  if (threads < 0 || threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--threads must be in [0, 1024], got ", threads));
  }
  return limits.Validate();
}

// Each handler is one call into the logic; only StreamBatches loops, moving messages.
// Until the server serves a catalog, every call gets UNAVAILABLE with the preparation's
// progress (a client retries; Kubernetes keeps the pod unready).
class ShardServer::Service final : public v1::ShardService::Service {
 public:
  explicit Service(const ShardServer* server) : server_(server) {}

  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest* request,
                       v1::GetInfoResponse* response) override {
    return Unary(
        [](ShardServiceLogic* logic, const v1::GetInfoRequest&) { return logic->GetInfo(); },
        *request, response);
  }

  grpc::Status Decode(grpc::ServerContext*, const v1::DecodeRequest* request,
                      v1::DecodeResponse* response) override {
    return Unary(std::mem_fn(&ShardServiceLogic::Decode), *request, response);
  }

  grpc::Status GetPlan(grpc::ServerContext*, const v1::PlanRequest* request,
                       v1::PlanResponse* response) override {
    return Unary(std::mem_fn(&ShardServiceLogic::GetPlan), *request, response);
  }

  grpc::Status ReadSequences(grpc::ServerContext*, const v1::SequencesRequest* request,
                             v1::SequencesResponse* response) override {
    if (server_->shutting_down_.load()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "the server is shutting down; ask another holder of the part or retry");
    }
    return Unary(std::mem_fn(&ShardServiceLogic::ReadSequences), *request, response);
  }

  // Write() blocks while the client's flow-control window is full, so a slow reader holds one
  // batch here (plus gRPC's window), never more.
  grpc::Status StreamBatches(grpc::ServerContext* context, const v1::StreamRequest* request,
                             grpc::ServerWriter<v1::Batch>* writer) override {
    ShardServiceLogic* logic = server_->serving_.load();
    if (logic == nullptr) return NotReady();
    absl::StatusOr<std::unique_ptr<ServedStream>> stream = logic->OpenStream(*request);
    if (!stream.ok()) return ToGrpc(stream.status());
    v1::Batch batch;
    while (!context->IsCancelled()) {
      if (server_->shutting_down_.load()) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the server is shutting down; resume from the last batch's cursor on "
                            "another server or after it restarts");
      }
      absl::StatusOr<bool> more = (*stream)->Next(&batch);
      if (!more.ok()) return ToGrpc(more.status());
      if (!*more) return grpc::Status::OK;
      if (!writer->Write(batch)) break;  // the client went away
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the stream");
  }

 private:
  // A unary call: `call(logic, request)` once the server serves a catalog, its result moved
  // into `response` and its status converted.
  template <typename Call, typename Request, typename Response>
  grpc::Status Unary(Call call, const Request& request, Response* response) const {
    ShardServiceLogic* logic = server_->serving_.load();
    if (logic == nullptr) return NotReady();
    absl::StatusOr<Response> out = call(logic, request);
    if (out.ok()) *response = std::move(*out);
    return ToGrpc(out.status());
  }

  grpc::Status NotReady() const {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("the server is not ready yet (", server_->preparing(), "); retry"));
  }

  const ShardServer* const server_;
};

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

void ShardServer::Serve(const Catalog* catalog) {
  logic_ = std::make_unique<ShardServiceLogic>(catalog, options_.limits);
  serving_.store(logic_.get());
  if (!shutting_down_.load()) server_->GetHealthCheckService()->SetServingStatus(true);
}

absl::StatusOr<std::unique_ptr<ShardServer>> ShardServer::StartPreparing(
    const ShardServerOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  auto server = std::unique_ptr<ShardServer>(new ShardServer());
  server->options_ = options;
  server->service_ = std::make_unique<Service>(server.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // No SO_REUSEPORT: a second server on a taken port must fail to start, not share the port
  // (the kernel would split new connections between two catalogs).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->service_.get());
  // Any response that passes validation must be sendable: per token at most 4 bytes of id and,
  // with document boundaries, one start offset (a varint of at most 3 bytes below 2^21, plus
  // per-row framing).
  builder.SetMaxSendMessageSize(static_cast<int>(options.limits.max_batch_tokens) * 8 + (4 << 20));
  // One thread per open stream (sync API) plus headroom for unary calls.
  if (options.threads > 0) {
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, options.threads);
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                                options.threads);
  }
  grpc::ResourceQuota quota("shardstream");
  quota.SetMaxThreads(static_cast<int>(options.limits.max_streams) + 16);
  builder.SetResourceQuota(quota);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (address in use or not local?)"));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(false);  // until Serve()
  return server;
}

ShardServer::~ShardServer() {
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(1));
    server_->Wait();
  }
}

void ShardServer::Shutdown(absl::Duration grace) {
  shutting_down_.store(true);
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(grace));
}

void ShardServer::Wait() { server_->Wait(); }

}  // namespace shardstream
