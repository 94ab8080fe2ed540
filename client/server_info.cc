#include "client/server_info.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "shardstream/v1/shard_service.grpc.pb.h"

namespace shardstream {

absl::StatusOr<v1::GetInfoResponse> GetServerInfo(const std::string& server,
                                                  absl::Duration timeout) {
  auto stub =
      v1::ShardService::NewStub(grpc::CreateChannel(server, grpc::InsecureChannelCredentials()));
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

}  // namespace shardstream
