#include <iostream>

#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/security_flags.h"
#include "client/server_info.h"

namespace shardstream::cli {

int RunHealthCommand(const std::vector<std::string>& args) {
  std::string server;
  int timeout_seconds = 5;
  ClientSecurity security;
  FlagParser flags("shardstream health --server HOST:PORT [--timeout-seconds S] " +
                       std::string(kClientSecurityUsage),
                   "Asks the server's standard gRPC health service (grpc.health.v1, what\n"
                   "Kubernetes' gRPC probes ask) and prints SERVING or NOT_SERVING. A shard\n"
                   "server is NOT_SERVING while it prepares its catalog and while it drains.\n"
                   "Exit 0 when SERVING, 1 otherwise (also when it cannot be reached).");
  flags.AddString("server", &server, "HOST:PORT");
  flags.AddInt("timeout-seconds", &timeout_seconds, "give up after this long");
  AddClientSecurityFlags(&flags, &security);
  flags.Require("server");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "health")) return *exit_status;
  absl::StatusOr<Health> health = CheckHealth(server, absl::Seconds(timeout_seconds), security);
  if (!health.ok()) return Fail("health", health.status().message());
  std::cout << (*health == Health::kServing      ? "SERVING"
                : *health == Health::kNotServing ? "NOT_SERVING"
                                                 : "UNKNOWN")
            << "\n";
  return *health == Health::kServing ? kExitOk : kExitFailed;
}

}  // namespace shardstream::cli
