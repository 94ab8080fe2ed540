// The gRPC transport of ShardServiceLogic: a thin layer that moves messages and converts
// statuses, plus the standard health service and reflection. Accepts port 0.
#ifndef SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_
#define SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/shard_service_logic.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace shardstream {

struct ShardServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free port
  // Threads polling for new RPCs (each open stream also has its own thread while it runs).
  // 0: gRPC's default.
  int threads = 0;
  ServerLimits limits;
  absl::Status Validate() const;
};

// Thread-safety: every method from any thread.
class ShardServer {
 public:
  // Starts serving `catalog` (borrowed; must outlive the server). UNAVAILABLE when the address
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
  // Starts serving `catalog` (borrowed; must outlive the server) and reports SERVING. Once.
  void Serve(const Catalog* catalog);
  ~ShardServer();

  // The bound port (the chosen one when listening on port 0).
  int port() const { return port_; }
  // Stops accepting calls; open streams end with UNAVAILABLE after the batch being written,
  // so clients resume elsewhere; calls still running after `grace` are cancelled.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();
  // The serving logic (after Serve()).
  const ShardServiceLogic& logic() const { return *logic_; }

 private:
  class Service;
  ShardServer() = default;
  std::string preparing() const;

  ShardServerOptions options_;
  std::unique_ptr<ShardServiceLogic> logic_;  // set once by Serve()
  std::atomic<ShardServiceLogic*> serving_{nullptr};
  mutable absl::Mutex preparing_mu_;
  std::string preparing_ ABSL_GUARDED_BY(preparing_mu_) = "starting";
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_GRPC_SHARD_SERVER_H_
