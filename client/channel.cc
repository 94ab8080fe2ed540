#include "client/channel.h"

#include <cstdlib>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/loopback.h"
#include "common/pem_file.h"
#include "common/watched_file.h"

namespace shardstream {
namespace {

// A PEM file of the client's TLS settings; `what` names it in the error.
absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  absl::StatusOr<std::string> pem = ReadPemFile(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " ", pem.status().message()));
  }
  return pem;
}

// The token of a token file: its first non-empty line, trimmed.
std::string FirstLine(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (!trimmed.empty()) return std::string(trimmed);
  }
  return "";
}

// "authorization: Bearer <token>" from a token file, read again when the file changes.
class TokenFilePlugin final : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenFilePlugin(std::string path) : file_(std::move(path)) {}
  bool IsBlocking() const override { return false; }  // one stat(2) per call
  const char* GetType() const override { return "shardstream-token-file"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    absl::StatusOr<std::shared_ptr<const std::string>> text = file_.Contents();
    if (!text.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          absl::StrCat("no token to send: ", text.status().message()));
    }
    const std::string token = FirstLine(**text);
    if (token.empty()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the token file is empty");
    }
    metadata->insert({"authorization", absl::StrCat("Bearer ", token)});
    return grpc::Status::OK;
  }

 private:
  WatchedFile file_;
};

}  // namespace

absl::Status ClientSecurity::Validate() const {
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs its key, and a key its "
                                      "certificate (tls_cert_file and tls_key_file)");
  }
  if (!tls() && (!tls_cert_file.empty() || !tls_server_name.empty())) {
    return absl::InvalidArgumentError(
        "a client certificate or a TLS server name needs the servers' CA (tls_ca_file)");
  }
  if (!token.empty() && !token_file.empty()) {
    return absl::InvalidArgumentError("give a token or a token file, not both");
  }
  return absl::OkStatus();
}

void SetClientKeepalive(grpc::ChannelArguments* args) {
  args->SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10'000);
  args->SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args->SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args->SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // ping while a call waits for data
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& address,
                                                           const ClientSecurity& security,
                                                           grpc::ChannelArguments args) {
  if (absl::Status s = security.Validate(); !s.ok()) return s;
  std::shared_ptr<grpc::CallCredentials> call;
  if (!security.token_file.empty()) {
    call = grpc::MetadataCredentialsFromPlugin(
        std::make_unique<TokenFilePlugin>(security.token_file));
  } else if (!security.token.empty()) {
    call = grpc::AccessTokenCredentials(security.token);
  } else if (const char* env = std::getenv("SHARDSTREAM_TOKEN"); env != nullptr && *env != 0) {
    call = grpc::AccessTokenCredentials(FirstLine(env));
  }
  std::shared_ptr<grpc::ChannelCredentials> channel;
  if (security.tls()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadPem(security.tls_ca_file, "CA file");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = std::move(*ca);
    if (!security.tls_cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(security.tls_cert_file, "client certificate");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(security.tls_key_file, "client key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = std::move(*cert);
      ssl.pem_private_key = std::move(*key);
    }
    if (!security.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(security.tls_server_name);
    }
    channel = grpc::SslCredentials(ssl);
  } else if (call != nullptr) {
    // gRPC sends call credentials only over a secure channel; to a loopback address local
    // credentials are one (nothing leaves the machine).
    if (!IsLoopbackAddress(address)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a token is sent only over TLS (give the servers' CA: --tls-ca / tls_ca) or to a "
          "loopback address; ", address.substr(0, 128), " is neither"));
    }
    channel = grpc::experimental::LocalCredentials(LOCAL_TCP);
  } else {
    channel = grpc::InsecureChannelCredentials();
  }
  if (call != nullptr) channel = grpc::CompositeChannelCredentials(channel, call);
  return grpc::CreateCustomChannel(address, channel, args);
}

}  // namespace shardstream
