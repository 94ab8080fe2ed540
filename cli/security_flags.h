// The client commands' security flags (stream --server, health): TLS, mutual TLS, tokens.
#ifndef SHARDSTREAM_CLI_SECURITY_FLAGS_H_
#define SHARDSTREAM_CLI_SECURITY_FLAGS_H_

#include "cli/flags.h"
#include "client/client_security.h"

namespace shardstream::cli {

// --tls-ca, --tls-cert, --tls-key, --tls-server-name, --token-file into `security`.
void AddClientSecurityFlags(FlagParser* flags, ClientSecurity* security);

// The usage text of those flags, for a command's synopsis.
inline constexpr char kClientSecurityUsage[] =
    "[--tls-ca F [--tls-cert F --tls-key F] [--tls-server-name NAME]] [--token-file F]";

}  // namespace shardstream::cli

#endif  // SHARDSTREAM_CLI_SECURITY_FLAGS_H_
