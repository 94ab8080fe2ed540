// Whether an address stays on this machine: bearer tokens may travel without TLS only there
// (gRPC local credentials), on the client's side and the server's.
#ifndef SHARDSTREAM_COMMON_LOOPBACK_H_
#define SHARDSTREAM_COMMON_LOOPBACK_H_

#include <string>

namespace shardstream {

// True for a HOST:PORT (or a bare host) whose host is in 127.0.0.0/8, is ::1 ("[::1]:7711")
// or is "localhost"; an "ipv4:" prefix (gRPC's target syntax) is allowed.
bool IsLoopbackAddress(const std::string& address);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_LOOPBACK_H_
