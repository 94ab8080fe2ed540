// What a shard server holds (its GetInfo answer), for trainers that size a model by the
// tokenizer's vocabulary or check a server before streaming.
#ifndef SHARDSTREAM_CLIENT_SERVER_INFO_H_
#define SHARDSTREAM_CLIENT_SERVER_INFO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client_security.h"
#include "shardstream/v1/shard_service.pb.h"

namespace shardstream {

// One GetInfo call to `server` (HOST:PORT). Waits for the server to come up for at most
// `timeout`; then UNAVAILABLE or DEADLINE_EXCEEDED, with the server's address in the message.
absl::StatusOr<v1::GetInfoResponse> GetServerInfo(const std::string& server,
                                                  absl::Duration timeout,
                                                  const ClientSecurity& security = {});

// The standard gRPC health service's answer for the whole server (grpc.health.v1.Health/Check
// with an empty service name): what Kubernetes' native gRPC probes ask. A shard server is
// NOT_SERVING while it prepares its catalog and while it drains.
enum class Health { kServing, kNotServing, kUnknown };
absl::StatusOr<Health> CheckHealth(const std::string& server, absl::Duration timeout,
                                   const ClientSecurity& security = {});

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_SERVER_INFO_H_
