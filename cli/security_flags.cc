#include "cli/security_flags.h"

namespace shardstream::cli {

void AddClientSecurityFlags(FlagParser* flags, ClientSecurity* security) {
  flags->AddString("tls-ca", &security->tls_ca_file,
                   "TLS: the CA bundle (PEM) that signed the servers' certificates");
  flags->AddString("tls-cert", &security->tls_cert_file,
                   "mutual TLS: this client's certificate chain (PEM)");
  flags->AddString("tls-key", &security->tls_key_file, "mutual TLS: its private key (PEM)");
  flags->AddString("tls-server-name", &security->tls_server_name,
                   "check the server certificates for this name instead of the host");
  flags->AddString("token-file", &security->token_file,
                   "send the bearer token in this file (default: $SHARDSTREAM_TOKEN)");
}

}  // namespace shardstream::cli
