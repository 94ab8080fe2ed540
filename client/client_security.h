// How a client proves who it is to shard servers and checks that they are the real ones: TLS
// with a CA (server certificates verified), a client certificate for mutual TLS, and a bearer
// token. docs/security.md has the threat model and how to make the files.
#ifndef SHARDSTREAM_CLIENT_CLIENT_SECURITY_H_
#define SHARDSTREAM_CLIENT_CLIENT_SECURITY_H_

#include <string>

#include "absl/status/status.h"

namespace shardstream {

struct ClientSecurity {
  // TLS: the CA bundle (PEM) that signed the servers' certificates. Empty: plaintext.
  std::string tls_ca_file;
  // Mutual TLS: this client's certificate chain and private key (PEM), both or neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The name the server certificates are checked against, when it is not the host in the
  // address (e.g. connecting to an IP with certificates issued for a Service's DNS name).
  std::string tls_server_name;
  // A bearer token sent with every call ("authorization: Bearer <token>"), or a file holding
  // it (re-read when it changes, so a rotated token is picked up without a restart). Neither:
  // $SHARDSTREAM_TOKEN when set. Tokens travel only over TLS, or to a loopback address
  // (gRPC local credentials): anywhere else they could be read off the network.
  std::string token;
  std::string token_file;

  bool tls() const { return !tls_ca_file.empty(); }
  // INVALID_ARGUMENT naming the field: a certificate without its key, a client certificate
  // or a server name without a CA, both a token and a token file.
  absl::Status Validate() const;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_CLIENT_CLIENT_SECURITY_H_
