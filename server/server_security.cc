#include "server/server_security.h"

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>


#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/loopback.h"
#include "common/pem_file.h"

namespace shardstream {
namespace {

absl::Status CheckPem(const std::string& path, const char* flag) {
  absl::StatusOr<std::string> pem = ReadPemFile(path);
  if (pem.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", pem.status().message()));
}

// The tokens of a token file: its lines, trimmed, without blank lines and '#' comments.
std::vector<absl::string_view> TokensOf(absl::string_view text) {
  std::vector<absl::string_view> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty() && line.front() != '#') out.push_back(line);
  }
  return out;
}

// Compares in time that depends on the lengths only, not on where the bytes differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

// The token check on every call, before any handler runs.
class TokenProcessor final : public grpc::AuthMetadataProcessor {
 public:
  TokenProcessor(std::string path, std::function<void()> refused)
      : tokens_(std::move(path)), refused_(std::move(refused)) {}
  bool IsBlocking() const override { return false; }  // one stat(2) and a compare

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext*,
                       OutputMetadata* consumed, OutputMetadata*) override {
    grpc::Status s = Check(auth_metadata, consumed);
    if (!s.ok() && refused_) refused_();
    return s;
  }

 private:
  grpc::Status Check(const InputMetadata& auth_metadata, OutputMetadata* consumed) {
    auto it = auth_metadata.find("authorization");
    if (it == auth_metadata.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "this server requires a bearer token: give the client --token-file "
                          "(C++ ClientSecurity::token_file, Python token_file=) or set "
                          "$SHARDSTREAM_TOKEN");
    }
    const absl::string_view value(it->second.data(), it->second.size());
    if (!absl::StartsWith(value, "Bearer ")) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "the authorization header must be \"Bearer <token>\"");
    }
    absl::Status s = tokens_.Check(value.substr(7));
    if (!s.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(s.message()));
    }
    consumed->insert({std::string(it->first.data(), it->first.size()),
                      std::string(it->second.data(), it->second.size())});
    return grpc::Status::OK;
  }

  BearerTokens tokens_;
  const std::function<void()> refused_;
};

}  // namespace

absl::Status ServerSecurity::Validate(const std::string& listen) const {
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!tls() && !tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca (mutual TLS) needs the server's own --tls-cert and --tls-key");
  }
  if (tls_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-seconds must be >= 1");
  }
  if (!auth_token_file.empty() && !tls() && !IsLoopbackAddress(listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth-token-file needs TLS (--tls-cert/--tls-key): bearer tokens sent in plaintext "
        "to ", listen.substr(0, 128), " could be read off the network (a loopback --listen "
        "uses gRPC local credentials instead)"));
  }
  if (tls()) {
    if (absl::Status s = CheckPem(tls_cert_file, "tls-cert"); !s.ok()) return s;
    if (absl::Status s = CheckPem(tls_key_file, "tls-key"); !s.ok()) return s;
    if (!tls_client_ca_file.empty()) {
      if (absl::Status s = CheckPem(tls_client_ca_file, "tls-client-ca"); !s.ok()) return s;
    }
  }
  if (!auth_token_file.empty()) {
    absl::StatusOr<std::shared_ptr<const std::string>> text =
        WatchedFile(auth_token_file).Contents();
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--auth-token-file ", auth_token_file, ": ", text.status().message()));
    }
    if (TokensOf(**text).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--auth-token-file ", auth_token_file, ": holds no token (one per line)"));
    }
  }
  return absl::OkStatus();
}

absl::Status BearerTokens::Check(absl::string_view presented) {
  absl::StatusOr<std::shared_ptr<const std::string>> text = file_.Contents();
  if (!text.ok()) {
    return absl::UnauthenticatedError(
        "the server cannot read its token file: no token is accepted (tell its operator)");
  }
  const std::vector<absl::string_view> tokens = TokensOf(**text);
  bool accepted = false;
  for (absl::string_view token : tokens) {
    accepted |= ConstantTimeEquals(token, presented);  // no early exit
  }
  if (tokens.empty()) {
    return absl::UnauthenticatedError(
        "the server's token file holds no token: no token is accepted (tell its operator)");
  }
  if (!accepted) return absl::UnauthenticatedError("the bearer token was not accepted");
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurity& security, const std::string& listen, std::function<void()> refused) {
  if (absl::Status s = security.Validate(listen); !s.ok()) return s;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (security.tls()) {
    const auto seconds =
        static_cast<unsigned int>(absl::ToInt64Seconds(security.tls_reload_interval));
    auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        security.tls_key_file, security.tls_cert_file, security.tls_client_ca_file, seconds);
    grpc::experimental::TlsServerCredentialsOptions options(provider);
    options.watch_identity_key_cert_pairs();
    if (!security.tls_client_ca_file.empty()) {
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    credentials = grpc::experimental::TlsServerCredentials(options);
  } else if (!security.auth_token_file.empty()) {
    // gRPC takes call credentials only over a secure transport; on loopback, local
    // credentials are one (and refuse any non-loopback peer).
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    credentials = grpc::InsecureServerCredentials();
  }
  if (!security.auth_token_file.empty()) {
    credentials->SetAuthMetadataProcessor(
        std::make_shared<TokenProcessor>(security.auth_token_file, std::move(refused)));
  }
  return credentials;
}

}  // namespace shardstream
