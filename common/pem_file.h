// Reading a PEM file (certificate, key, CA bundle) for TLS, on the client's side and the
// server's: read at once so that a wrong path fails with a clear message, not a failed
// handshake later.
#ifndef SHARDSTREAM_COMMON_PEM_FILE_H_
#define SHARDSTREAM_COMMON_PEM_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace shardstream {

// The file's contents; INVALID_ARGUMENT "<path>: cannot be read" or "<path>: not a PEM file"
// (no "-----BEGIN" line).
absl::StatusOr<std::string> ReadPemFile(const std::string& path);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PEM_FILE_H_
