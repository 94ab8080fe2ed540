#include "server/server_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <fstream>
#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace shardstream {
namespace {

// The resident set of this process, from /proc/self/statm (pages).
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

prometheus::MetricFamily Single(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
  return family;
}

// gRPC's spelling of a code ("NOT_FOUND"), the metrics' label value.
std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

}  // namespace

// The collect-time values: read when Prometheus scrapes.
class ServerMetrics::Scraped final : public prometheus::Collectable {
 public:
  void Set(std::function<ScrapedValues()> scrape) {
    absl::MutexLock lock(&mu_);
    scrape_ = std::move(scrape);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    ScrapedValues v;
    {
      absl::MutexLock lock(&mu_);
      if (scrape_) v = scrape_();
    }
    using prometheus::MetricType;
    return {
        Single("shardstream_plans_cached", "Plans built and kept in memory", MetricType::Gauge,
               static_cast<double>(v.plans_cached)),
        Single("shardstream_block_cache_hits_total",
               "RocksDB block cache hits of the served catalog(s)", MetricType::Counter,
               static_cast<double>(v.block_cache_hits)),
        Single("shardstream_block_cache_misses_total",
               "RocksDB block cache misses of the served catalog(s) (blocks read from disk)",
               MetricType::Counter, static_cast<double>(v.block_cache_misses)),
        Single("shardstream_dataset_versions_open",
               "Catalog versions held open: the current one and older ones still in use",
               MetricType::Gauge, static_cast<double>(v.dataset_versions_open)),
        Single("shardstream_readers_open",
               "Readers (ReadSequences clients) with a call in the last reader-idle period",
               MetricType::Gauge, static_cast<double>(v.readers_open)),
        Single("shardstream_epoch_layouts",
               "Epoch layouts in memory: held by streams and calls, or kept for them",
               MetricType::Gauge, static_cast<double>(v.epoch_layouts)),
        Single("shardstream_epoch_layout_bytes", "Memory of the epoch layouts in memory",
               MetricType::Gauge, static_cast<double>(v.epoch_layout_bytes)),
        Single("shardstream_epoch_layouts_built_total",
               "Epoch layouts built (one per part epoch read, more when built again)",
               MetricType::Counter, static_cast<double>(v.epoch_layouts_built)),
        Single("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge,
               ResidentBytes()),
    };
  }

 private:
  mutable absl::Mutex mu_;
  std::function<ScrapedValues()> scrape_ ABSL_GUARDED_BY(mu_);
};

ServerMetrics::ServerMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      scraped_(std::make_shared<Scraped>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  using prometheus::BuildHistogram;
  prometheus::Registry& r = *registry_;
  streams_open_ = &BuildGauge()
                       .Name("shardstream_streams_open")
                       .Help("StreamBatches calls open now")
                       .Register(r)
                       .Add({});
  streams_ended_ = &BuildCounter()
                        .Name("shardstream_streams_total")
                        .Help("StreamBatches calls ended, by final gRPC status")
                        .Register(r);
  calls_ = &BuildCounter()
                .Name("shardstream_calls_total")
                .Help("Unary calls ended, by method and gRPC status")
                .Register(r);
  const prometheus::Histogram::BucketBoundaries seconds = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                                           0.5,   1,     2.5,  5,    10,  30,
                                                           60,    120,   300};
  stream_seconds_ = &BuildHistogram()
                         .Name("shardstream_stream_duration_seconds")
                         .Help("How long StreamBatches calls lasted")
                         .Register(r)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600});
  first_batch_seconds_ = &BuildHistogram()
                              .Name("shardstream_time_to_first_batch_seconds")
                              .Help("From a StreamBatches call to its first batch written "
                                    "(plan build included when the plan was new)")
                              .Register(r)
                              .Add({}, seconds);
  plan_build_seconds_ = &BuildHistogram()
                             .Name("shardstream_plan_build_seconds")
                             .Help("Time to build a new plan (tokenizer, filters, seq_len)")
                             .Register(r)
                             .Add({}, seconds);
  batches_ = &BuildCounter()
                  .Name("shardstream_batches_total")
                  .Help("Batches written to StreamBatches clients")
                  .Register(r)
                  .Add({});
  auto& tokens = BuildCounter()
                     .Name("shardstream_tokens_served_total")
                     .Help("Token ids sent, by RPC")
                     .Register(r);
  stream_tokens_ = &tokens.Add({{"rpc", "StreamBatches"}});
  sequence_tokens_ = &tokens.Add({{"rpc", "ReadSequences"}});
  auto& bytes = BuildCounter()
                    .Name("shardstream_token_bytes_served_total")
                    .Help("Bytes of token ids sent, by RPC")
                    .Register(r);
  stream_bytes_ = &bytes.Add({{"rpc", "StreamBatches"}});
  sequence_bytes_ = &bytes.Add({{"rpc", "ReadSequences"}});
  clients_cancelled_ = &BuildCounter()
                            .Name("shardstream_clients_cancelled_total")
                            .Help("Streams the client cancelled or dropped before their end")
                            .Register(r)
                            .Add({});
  stalled_cancelled_ = &BuildCounter()
                            .Name("shardstream_stalled_streams_cancelled_total")
                            .Help("Streams cancelled by the server because the client stopped "
                                  "reading for longer than the write timeout")
                            .Register(r)
                            .Add({});
  pacing_seconds_ = &BuildCounter()
                         .Name("shardstream_stream_pacing_seconds_total")
                         .Help(
                             "Time streams waited for the slowest stream of their job to come "
                             "within two epochs (StreamPacer)")
                         .Register(r)
                         .Add({});
  unauthenticated_ = &BuildCounter()
                          .Name("shardstream_unauthenticated_calls_total")
                          .Help("Calls refused for a missing or wrong bearer token")
                          .Register(r)
                          .Add({});
  catalog_reloads_ = &BuildCounter()
                          .Name("shardstream_catalog_reloads_total")
                          .Help("New catalog versions picked up without a restart")
                          .Register(r)
                          .Add({});
  listener_restarts_ = &BuildCounter()
                            .Name("shardstream_listener_restarts_total")
                            .Help("Listening sockets restarted after accept() ran out of file "
                                  "descriptors (open calls were ended)")
                            .Register(r)
                            .Add({});
}

ServerMetrics::~ServerMetrics() = default;

absl::Status ServerMetrics::Expose(const std::string& listen) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen.substr(0, 128), ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(scraped_);
  return absl::OkStatus();
}

int ServerMetrics::port() const {
  if (exposer_ == nullptr) return 0;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void ServerMetrics::SetScraper(std::function<ScrapedValues()> scrape) {
  scraped_->Set(std::move(scrape));
}

void ServerMetrics::StreamOpened() { streams_open_->Increment(); }

void ServerMetrics::StreamEnded(absl::StatusCode code, absl::Duration duration) {
  streams_open_->Decrement();
  streams_ended_->Add({{"code", CodeName(code)}}).Increment();
  stream_seconds_->Observe(absl::ToDoubleSeconds(duration));
}

void ServerMetrics::FirstBatch(absl::Duration since_open) {
  first_batch_seconds_->Observe(absl::ToDoubleSeconds(since_open));
}

void ServerMetrics::BatchSent(uint64_t tokens, uint64_t bytes) {
  batches_->Increment();
  stream_tokens_->Increment(static_cast<double>(tokens));
  stream_bytes_->Increment(static_cast<double>(bytes));
}

void ServerMetrics::SequencesSent(uint64_t tokens, uint64_t bytes) {
  sequence_tokens_->Increment(static_cast<double>(tokens));
  sequence_bytes_->Increment(static_cast<double>(bytes));
}

void ServerMetrics::CallEnded(const char* method, absl::StatusCode code) {
  calls_->Add({{"method", method}, {"code", CodeName(code)}}).Increment();
}

void ServerMetrics::PlanBuilt(absl::Duration duration) {
  plan_build_seconds_->Observe(absl::ToDoubleSeconds(duration));
}

void ServerMetrics::ClientCancelled() { clients_cancelled_->Increment(); }
void ServerMetrics::StalledStreamCancelled() { stalled_cancelled_->Increment(); }
void ServerMetrics::StreamPaced(absl::Duration waited) {
  pacing_seconds_->Increment(absl::ToDoubleSeconds(waited));
}
void ServerMetrics::Unauthenticated() { unauthenticated_->Increment(); }
void ServerMetrics::CatalogReloaded() { catalog_reloads_->Increment(); }
void ServerMetrics::ListenerRestarted() { listener_restarts_->Increment(); }

}  // namespace shardstream
