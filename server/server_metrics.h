// What a shard server is doing, as Prometheus metrics (prometheus-cpp): streams, batches,
// tokens and bytes served, time to first batch, plan builds, refused calls, the block cache,
// memory. docs/operations.md lists every metric with its meaning and what to alert on.
// Thread-safe; the counters cost an atomic add each.
#ifndef SHARDSTREAM_SERVER_SERVER_METRICS_H_
#define SHARDSTREAM_SERVER_SERVER_METRICS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace shardstream {

// Values read when the metrics are scraped, not counted as they happen.
struct ScrapedValues {
  uint64_t plans_cached = 0;
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t dataset_versions_open = 0;  // the current one and older ones still in use
  uint64_t readers_open = 0;           // Readers seen recently (ReaderSessions)
  uint64_t epoch_layouts = 0;          // alive: held by readers or kept (LayoutCache)
  uint64_t epoch_layout_bytes = 0;
  uint64_t epoch_layouts_built = 0;  // by the process, ever
};

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();

  // Serves /metrics on `listen` (HOST:PORT; port 0 picks one) in Prometheus text format.
  // UNAVAILABLE when the address cannot be bound.
  absl::Status Expose(const std::string& listen);
  // The bound port of Expose() (0 before).
  int port() const;
  // Called at each scrape for the values counted elsewhere.
  void SetScraper(std::function<ScrapedValues()> scrape);

  void StreamOpened();
  // A stream ended with `code` (absl code) after `duration`.
  void StreamEnded(absl::StatusCode code, absl::Duration duration);
  void FirstBatch(absl::Duration since_open);
  void BatchSent(uint64_t tokens, uint64_t bytes);
  void SequencesSent(uint64_t tokens, uint64_t bytes);
  // A unary call (GetInfo, GetPlan, ReadSequences, Decode) ended with `code`.
  void CallEnded(const char* method, absl::StatusCode code);
  void PlanBuilt(absl::Duration duration);
  void ClientCancelled();       // the client went away mid-stream
  void StalledStreamCancelled();  // the server dropped a client that stopped reading
  void StreamPaced(absl::Duration waited);  // a stream waited for its job's slowest
  void Unauthenticated();       // a call refused for a missing or wrong token
  void CatalogReloaded();
  void ListenerRestarted();

 private:
  class Scraped;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Scraped> scraped_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Gauge* streams_open_;
  prometheus::Family<prometheus::Counter>* streams_ended_;
  prometheus::Family<prometheus::Counter>* calls_;
  prometheus::Histogram* stream_seconds_;
  prometheus::Histogram* first_batch_seconds_;
  prometheus::Histogram* plan_build_seconds_;
  prometheus::Counter* batches_;
  prometheus::Counter* stream_tokens_;
  prometheus::Counter* stream_bytes_;
  prometheus::Counter* sequence_tokens_;
  prometheus::Counter* sequence_bytes_;
  prometheus::Counter* clients_cancelled_;
  prometheus::Counter* stalled_cancelled_;
  prometheus::Counter* pacing_seconds_;
  prometheus::Counter* unauthenticated_;
  prometheus::Counter* catalog_reloads_;
  prometheus::Counter* listener_restarts_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SERVER_METRICS_H_
