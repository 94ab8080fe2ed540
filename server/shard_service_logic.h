// What the ShardService does, without gRPC: request validation, plan sharing, batches and
// sequences as protobuf messages. The gRPC layer (grpc_shard_server.h) only moves messages and
// converts statuses; tests drive this class directly.
#ifndef SHARDSTREAM_SERVER_SHARD_SERVICE_LOGIC_H_
#define SHARDSTREAM_SERVER_SHARD_SERVICE_LOGIC_H_

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/catalog.h"
#include "server/catalog_plan.h"
#include "server/layout_cache.h"
#include "server/local_stream.h"
#include "server/shared_cache.h"
#include "server/stream_pacer.h"
#include "shardstream/v1/shard_service.pb.h"

namespace shardstream {

struct ServerLimits {
  uint32_t max_streams = 256;           // concurrent streams; more get RESOURCE_EXHAUSTED
  uint32_t max_seq_len = 1 << 20;       // tokens per row
  uint32_t max_batch_tokens = 1 << 22;  // rows × seq_len per batch or response (16 MiB as int32)
  bool pace_jobs = true;  // keep the ranks of a job within 2 epochs of each other (StreamPacer)
  absl::Status Validate() const;
};

class ShardServiceLogic;
class ServerMetrics;

// A server's limit on open streams, shared by every catalog version it serves. Thread-safe.
class StreamSlots {
 public:
  explicit StreamSlots(uint32_t max) : max_(max) {}
  // A slot, or false when all `max` are taken.
  bool TryTake() {
    if (active_.fetch_add(1) < max_) return true;
    active_.fetch_sub(1);
    return false;
  }
  void Release() { active_.fetch_sub(1); }
  uint32_t active() const { return active_.load(); }
  uint32_t max() const { return max_; }

 private:
  const uint32_t max_;
  std::atomic<uint32_t> active_{0};
};

// One open stream; holds a slot of the server's stream limit until destroyed. Not thread-safe.
class ServedStream {
 public:
  ~ServedStream();
  // The next batch; false when the requested epochs are done.
  absl::StatusOr<bool> Next(v1::Batch* batch);

 private:
  friend class ShardServiceLogic;
  ServedStream(ShardServiceLogic* owner, std::unique_ptr<LocalStream> stream, v1::TokenDtype dtype,
               std::unique_ptr<StreamPacer::Member> pace)
      : owner_(owner), stream_(std::move(stream)), dtype_(dtype), pace_(std::move(pace)) {}
  ShardServiceLogic* const owner_;
  std::unique_ptr<LocalStream> stream_;
  const v1::TokenDtype dtype_;
  const std::unique_ptr<StreamPacer::Member> pace_;  // its place in its job (null: not paced)
  Batch scratch_;
};

// Thread-safe. Plans and epoch layouts are shared by all streams and calls that use them.
class ShardServiceLogic {
 public:
  // `catalog` (read-only is enough) is borrowed and must outlive this object. Streams count
  // against `slots` (shared by the logics of a server's successive catalog versions; null: a
  // slot set of its own with limits.max_streams). `metrics` (may be null) sees plan builds.
  ShardServiceLogic(const Catalog* catalog, ServerLimits limits,
                    std::shared_ptr<StreamSlots> slots = nullptr,
                    ServerMetrics* metrics = nullptr);
  // The same, keeping `catalog` alive as long as this object.
  ShardServiceLogic(std::shared_ptr<const Catalog> catalog, ServerLimits limits,
                    std::shared_ptr<StreamSlots> slots, ServerMetrics* metrics);

  const Catalog& catalog() const { return *catalog_; }
  // Whether this catalog has the part a ReadSequences request names at the version it names
  // (a server that follows its data keeps older versions for clients planned on them).
  bool HoldsPartVersion(const v1::SequencesRequest& request) const;
  // Plans built and kept now.
  size_t plans_cached() const { return plans_.size(); }
  LayoutCache::Stats layouts() const { return layouts_.stats(); }
  // Selections in memory: one per (tokenizer, filters) of the plans kept or in use.
  size_t selections_cached() const { return selections_.size(); }
  // Plans built since this object was made (each new plan once, however many asked at once).
  uint64_t plans_built() const { return plans_built_.load(); }

  absl::StatusOr<v1::GetInfoResponse> GetInfo() const;
  // INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION as in shard_service.proto;
  // RESOURCE_EXHAUSTED when max_streams are open.
  absl::StatusOr<std::unique_ptr<ServedStream>> OpenStream(const v1::StreamRequest& request);
  absl::StatusOr<v1::DecodeResponse> Decode(const v1::DecodeRequest& request) const;
  absl::StatusOr<v1::PlanResponse> GetPlan(const v1::PlanRequest& request);
  absl::StatusOr<v1::SequencesResponse> ReadSequences(const v1::SequencesRequest& request);

  uint32_t active_streams() const { return slots_->active(); }

 private:
  friend class ServedStream;
  // The catalog plan of a request's plan fields, built once and shared.
  absl::StatusOr<std::shared_ptr<const CatalogPlan>> SharedPlan(const v1::PlanRequest& request);
  // The dtype a request gets (UNSPECIFIED: by vocabulary); INVALID_ARGUMENT when it cannot
  // hold the ids.
  static absl::StatusOr<v1::TokenDtype> ResolveDtype(v1::TokenDtype requested,
                                                     const v1::TokenizerRecord& tokenizer);

  std::shared_ptr<const Catalog> owned_catalog_;  // null when borrowed
  const Catalog* const catalog_;
  const ServerLimits limits_;
  const std::shared_ptr<StreamSlots> slots_;
  ServerMetrics* const metrics_;
  std::set<std::tuple<std::string, uint32_t, Hash128>> part_versions_;  // constant
  LayoutCache layouts_;
  StreamPacer pacer_;  // the streams of a job (ranks) kept within two epochs of each other
  std::atomic<uint64_t> plans_built_{0};
  // A plan lives as long as a stream uses it, and the last kRecent used stay built, so
  // clients that reconnect (a new stream for each) or fetch window after window do not
  // rebuild them.
  static constexpr size_t kRecent = 4;
  SharedCache<std::string, CatalogPlan> plans_{kRecent};
  // What the plans' filters keep, shared by the plans of every seq_len; a selection lives as
  // long as a plan holds it, and the last kRecent used stay built too.
  SharedCache<std::string, CatalogSelection> selections_{kRecent};
  mutable absl::Mutex decoders_mu_;
  mutable std::map<std::string, std::shared_ptr<const Tokenizer>> decoders_
      ABSL_GUARDED_BY(decoders_mu_);
};

// The version this build reports.
inline constexpr char kShardstreamVersion[] = "0.2.0";

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SHARD_SERVICE_LOGIC_H_
