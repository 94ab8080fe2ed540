// The gRPC transport of ShardServiceLogic: a thin layer that moves messages and converts
// statuses, plus the standard health service (also on a plaintext probe port), reflection,
// TLS / mTLS / bearer tokens (server_security.h), Prometheus metrics (server_metrics.h), one
// log line per stream opened and ended, keepalive and a write timeout that free the slots of
// clients that stopped reading, and new catalog versions served without a restart. Accepts
// port 0.
#ifndef SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_
#define SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/reader_sessions.h"
#include "server/server_metrics.h"
#include "server/server_security.h"
#include "server/shard_service_logic.h"

namespace grpc {
class Server;
class ServerCredentials;
}  // namespace grpc

namespace shardstream {

struct ShardServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free port
  // Threads polling for new RPCs (each open stream also has its own thread while it runs).
  // 0: gRPC's default.
  int threads = 0;
  ServerLimits limits;
  // TLS, mTLS, bearer tokens; default: plaintext, no token. Checked by StartPreparing (which
  // reads its files once, making the credentials), not by Validate().
  ServerSecurity security;
  // A plaintext port serving only the gRPC health service (Kubernetes' gRPC probes cannot do
  // TLS or send tokens). Empty: none.
  std::string health_listen;
  // Prometheus /metrics (text format) on this HOST:PORT. Empty: none (metrics are still kept).
  std::string metrics_listen;
  // A stream whose client has not taken its next batch for this long is cancelled, freeing
  // its slot and its batch (a client resumes from its last cursor).
  absl::Duration write_timeout = absl::Seconds(120);
  // Keepalive pings to every client connection after this long without traffic; a
  // connection whose client does not answer within keepalive_timeout is closed (a frozen or
  // vanished client frees its streams).
  absl::Duration keepalive_time = absl::Seconds(20);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // A Reader (told apart by the id it sends) with no call for this long is logged as ended.
  absl::Duration reader_idle = absl::Seconds(60);
  // Whether a stream's next batches are made on a thread of their own while it writes
  // (server/batches_ahead): while fewer streams and ReadSequences calls are open than the
  // process has cores (UsableCores), always, or never.
  enum class MakeAhead { kWhenCoresSpare, kAlways, kNever };
  MakeAhead make_ahead = MakeAhead::kWhenCoresSpare;
  absl::Status Validate() const;
};

// Thread-safety: every method from any thread.
class ShardServer {
 public:
  // Starts serving `catalog` (borrowed; must outlive the server). UNAVAILABLE when an address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<ShardServer>> Start(const Catalog* catalog,
                                                            const ShardServerOptions& options);
  // Starts listening before there is a catalog to serve (a pod that first indexes and
  // tokenizes its partitions): the health service says NOT_SERVING and every ShardService call
  // gets UNAVAILABLE with the preparation's progress, until Serve().
  static absl::StatusOr<std::unique_ptr<ShardServer>> StartPreparing(
      const ShardServerOptions& options);
  // What the preparation is doing, for the UNAVAILABLE message ("indexing 3/40 files").
  void SetPreparing(std::string what);
  // Serves `catalog` from now on and reports SERVING. The first call starts serving; a later
  // one (the catalog changed on disk) makes it the version new calls get, while streams open
  // on an older version keep it to their end, and ReadSequences for parts at an older version
  // are answered from it while it is kept: while clients read from it (until kKeepUnusedFor
  // without a request), at most kMaxKeptVersions older versions.
  void Serve(std::shared_ptr<const Catalog> catalog);
  void Serve(const Catalog* catalog);  // borrowed; must outlive the server
  ~ShardServer();

  static constexpr size_t kMaxKeptVersions = 8;
  static constexpr absl::Duration kKeepUnusedFor = absl::Minutes(10);

  // The bound ports (the chosen ones when listening on port 0; 0 when not listening).
  int port() const { return port_.load(); }
  int health_port() const { return health_port_.load(); }
  int metrics_port() const { return metrics_.port(); }
  // Stops accepting calls; open streams end with UNAVAILABLE after the batch being written,
  // so clients resume elsewhere; calls still running after `grace` are cancelled.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();
  // Streams open now, over every version.
  uint32_t active_streams() const { return slots_->active(); }
  // The logic of the current version (null before Serve()).
  std::shared_ptr<ShardServiceLogic> logic() const;
  ServerMetrics& metrics() { return metrics_; }

 private:
  class Service;
  class StallWatch;
  class ListenerWatch;
  ShardServer();
  // Builds and starts the gRPC server(s) on `listen` (and `health_listen` when not empty),
  // replacing the current ones (kept in old_servers_ for waiters).
  absl::Status ListenLocked(const std::string& listen, const std::string& health_listen)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(listen_mu_);
  void RelistenLoop();
  std::string preparing() const;
  // The logic that holds a ReadSequences request's part version: the current one, else a
  // kept older one; the current one when none does (it explains the mismatch).
  std::shared_ptr<ShardServiceLogic> LogicFor(const v1::SequencesRequest& request) const;
  // The logics of versions older than the current one that are still open, newest first.
  std::vector<std::shared_ptr<ShardServiceLogic>> OlderVersions() const;
  ScrapedValues Scrape() const;
  void SetHealth(bool serving);

  ShardServerOptions options_;
  const int cores_;                // UsableCores() when started
  // StreamBatches calls streaming and ReadSequences calls reading now: each keeps a core busy.
  std::atomic<int> busy_calls_{0};
  ServerMetrics metrics_;
  std::shared_ptr<StreamSlots> slots_;
  mutable absl::Mutex versions_mu_;
  std::shared_ptr<ShardServiceLogic> current_ ABSL_GUARDED_BY(versions_mu_);
  struct Kept {
    std::shared_ptr<ShardServiceLogic> logic;
    absl::Time last_used;
  };
  // Older versions, newest first; pruned by Serve() and LogicFor().
  mutable std::deque<Kept> kept_ ABSL_GUARDED_BY(versions_mu_);
  std::vector<std::weak_ptr<ShardServiceLogic>> retired_ ABSL_GUARDED_BY(versions_mu_);
  mutable absl::Mutex preparing_mu_;
  std::string preparing_ ABSL_GUARDED_BY(preparing_mu_) = "starting";
  std::unique_ptr<ReaderSessions> readers_;
  std::unique_ptr<StallWatch> stalls_;  // after readers_: its thread uses them
  std::unique_ptr<Service> service_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  // The gRPC servers: replaced when a listener has to be restarted (RelistenLoop).
  mutable absl::Mutex listen_mu_;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(listen_mu_);
  std::unique_ptr<grpc::Server> health_server_ ABSL_GUARDED_BY(listen_mu_);
  std::vector<std::unique_ptr<grpc::Server>> old_servers_ ABSL_GUARDED_BY(listen_mu_);
  uint64_t accept_failures_seen_ ABSL_GUARDED_BY(listen_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(listen_mu_) = false;
  std::atomic<int> port_{0};
  std::atomic<int> health_port_{0};
  std::atomic<bool> shutting_down_{false};
  std::thread relisten_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_
