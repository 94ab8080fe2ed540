// Channels to shard servers with the client's security (client_security.h): the one place
// that turns ClientSecurity into gRPC credentials. Internal to the client library.
#ifndef SHARDSTREAM_CLIENT_CHANNEL_H_
#define SHARDSTREAM_CLIENT_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/client_security.h"

namespace shardstream {

// Keepalive for every client channel: a ping after 10 s without traffic, the connection
// dropped when it is not answered within 10 s, so a call on a dead or frozen server fails
// (and is retried elsewhere) instead of hanging until its deadline.
void SetClientKeepalive(grpc::ChannelArguments* args);

// A channel to `address` (HOST:PORT) with `security`: TLS when a CA is given, the bearer
// token (security.token, security.token_file or $SHARDSTREAM_TOKEN) on every call.
// INVALID_ARGUMENT when the files cannot be read or a token would travel in plaintext to a
// non-loopback address.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& address,
                                                           const ClientSecurity& security,
                                                           grpc::ChannelArguments args);

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_CHANNEL_H_
