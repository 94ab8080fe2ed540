#include "client/server_info.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/channel.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {

absl::StatusOr<v1::GetInfoResponse> GetServerInfo(const std::string& server,
                                                  absl::Duration timeout,
                                                  const ClientSecurity& security) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenChannel(server, security, grpc::ChannelArguments());
  if (!channel.ok()) return channel.status();
  auto stub = v1::ShardService::NewStub(*channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(true);  // a server still starting is waited for, up to timeout
  v1::GetInfoResponse response;
  grpc::Status s = stub->GetInfo(&context, v1::GetInfoRequest(), &response);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat(server, ": ", s.error_message()));
  }
  return response;
}

absl::StatusOr<Health> CheckHealth(const std::string& server, absl::Duration timeout,
                                   const ClientSecurity& security) {
  // grpc.health.v1 is not among our protos: the request is an empty HealthCheckRequest (no
  // bytes); the response HealthCheckResponse{status = 1} is field 1 as a varint (08 nn),
  // 1 = SERVING, 2 = NOT_SERVING.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenChannel(server, security, grpc::ChannelArguments());
  if (!channel.ok()) return channel.status();
  grpc::GenericStub stub(*channel);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status s = done.get_future().get();
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat(server, ": ", s.error_message()));
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::DataLossError("unreadable health response");
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  if (bytes == std::string("\x08\x01", 2)) return Health::kServing;
  if (bytes == std::string("\x08\x02", 2)) return Health::kNotServing;
  return Health::kUnknown;
}

}  // namespace shardstream
