#include <signal.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "common/log.h"
#include "server/catalog.h"
#include "server/grpc_shard_server.h"

namespace shardstream::cli {

int RunServeCommand(const std::vector<std::string>& args) {
  std::string db;
  ShardServerOptions options;
  options.listen = "127.0.0.1:7711";
  int max_streams = static_cast<int>(options.limits.max_streams);
  int grace_seconds = 10;
  FlagParser flags(
      "shardstream serve --db DIR --listen HOST:PORT [--threads N] [--max-streams N] "
      "[--grace-seconds S]",
      "The shard server daemon: serves the catalog's token stores over gRPC\n"
      "(ShardService, proto/shardstream/v1/shard_service.proto; plus gRPC health and\n"
      "reflection). Logs `listening on HOST:PORT` once ready (port 0 picks a free\n"
      "port). SIGTERM or SIGINT: stop accepting, end open streams with UNAVAILABLE after\n"
      "their current batch (clients resume elsewhere), exit 0.");
  flags.AddString("db", &db, "catalog directory (indexed and tokenized)");
  flags.AddString("listen", &options.listen, "address to listen on, HOST:PORT");
  flags.AddInt("threads", &options.threads,
               "threads polling for new calls (0: gRPC's default); each stream has its own");
  flags.AddInt("max-streams", &max_streams, "concurrent streams; more get RESOURCE_EXHAUSTED");
  flags.AddInt("grace-seconds", &grace_seconds,
               "on SIGTERM, cancel calls still running after this");
  flags.Require("db");
  if (std::optional<int> exit_status = flags.ParseOrExit(args, "serve")) return *exit_status;
  if (max_streams < 1 || grace_seconds < 0) {
    std::cerr << "shardstream serve: --max-streams must be >= 1 and --grace-seconds >= 0\n";
    return kExitUsage;
  }
  options.limits.max_streams = static_cast<uint32_t>(max_streams);
  // Signals are taken by sigwait below, not by handlers: block them before threads start.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CatalogOptions catalog_options;
  catalog_options.read_only = true;
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db, catalog_options);
  if (!catalog.ok()) {
    return Fail("serve", catalog.status().message());
  }
  absl::StatusOr<std::unique_ptr<ShardServer>> server = ShardServer::Start(catalog->get(), options);
  if (!server.ok()) {
    return Fail("serve", server.status().message(),
                absl::IsInvalidArgument(server.status()) ? kExitUsage : kExitFailed);
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  LogInfo("listening on ", host, ":", (*server)->port(), " (catalog ", db, ", version ",
          (*catalog)->version().ToHex().substr(0, 16), ")");
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LogInfo("signal ", signal_number, ": draining ", (*server)->logic().active_streams(), " streams");
  (*server)->Shutdown(absl::Seconds(grace_seconds));
  (*server)->Wait();
  LogInfo("stopped");
  return kExitOk;
}

}  // namespace shardstream::cli
