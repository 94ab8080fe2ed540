// Who may call a shard server: TLS (the server's certificate, re-read when its files change),
// mutual TLS (client certificates required and verified against a CA) and bearer tokens (a
// token file, re-read when it changes). The one place that turns these into gRPC server
// credentials. docs/security.md has the threat model.
#ifndef SHARDSTREAM_SERVER_SERVER_SECURITY_H_
#define SHARDSTREAM_SERVER_SERVER_SECURITY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/watched_file.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace shardstream {

struct ServerSecurity {
  // TLS: the server's certificate chain and private key (PEM). Both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Mutual TLS: the CA bundle that client certificates must chain to; clients without a valid
  // certificate are refused in the handshake. Needs TLS.
  std::string tls_client_ca_file;
  // How often the certificate files are checked for a change (new connections then use the
  // new certificates; open ones keep theirs).
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // Bearer tokens: one per line (blank lines and lines starting with '#' ignored). Every call
  // must carry one of them ("authorization: Bearer <token>"); the file is re-read when it
  // changes. Needs TLS, or a loopback listen address (then served with gRPC local
  // credentials, which only loopback peers can use).
  std::string auth_token_file;

  bool tls() const { return !tls_cert_file.empty(); }
  // INVALID_ARGUMENT naming the flag; the files are read once to check they hold PEM.
  absl::Status Validate(const std::string& listen) const;
};

// The accepted tokens of a token file. Thread-safe.
class BearerTokens {
 public:
  explicit BearerTokens(std::string path) : file_(std::move(path)) {}
  // OK when `presented` (the value after "Bearer ") is one of the file's tokens as it is now;
  // UNAUTHENTICATED otherwise, with a message for the caller that never echoes a token. Each
  // comparison takes time independent of where the strings differ.
  absl::Status Check(absl::string_view presented);

 private:
  WatchedFile file_;
};

// Server credentials for the main listening port: TLS / mTLS when configured (else plaintext,
// or local credentials with tokens on loopback), with the token check on every call;
// `refused` (may be empty) is called for each call refused for its token.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurity& security, const std::string& listen,
    std::function<void()> refused = {});

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SERVER_SECURITY_H_
