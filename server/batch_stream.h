// A rank's stream of [batch_size, seq_len] token batches from a plan, epoch after epoch: the
// logic the embedded `shardstream stream` and (next) the gRPC service share.
//
// Global batch g of an epoch is sequences [g·G, (g+1)·G) with G = world_size × batch_size; rank
// r gets rows [r·B, (r+1)·B) of it. Every rank gets floor(S / G) batches per epoch (S: the
// epoch's sequences); the tail of fewer than G sequences is dropped. After each batch the
// cursor names the next global sequence, so a stream resumed from it — with any world size and
// batch size — continues exactly where this one stopped, losing and repeating nothing.
#ifndef SHARDSTREAM_SERVER_BATCH_STREAM_H_
#define SHARDSTREAM_SERVER_BATCH_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/plan.h"

namespace shardstream {

struct StreamOptions {
  PlanSpec plan;
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint32_t batch_size = 8;      // rows per batch for this rank
  uint64_t epochs = 0;          // stop after this many epochs (counted from epoch 0); 0: never
  std::string resume_cursor;    // start after this cursor; empty: epoch 0, sequence 0
  bool doc_boundaries = false;  // also report where documents start in each row
  // 0: batches in Batch::tokens (uint32). 2 or 4: in Batch::packed, little-endian ids of that
  // many bytes, copied straight from the token store when its width is the same (the served
  // path). 2 requires ids below 65,536.
  uint32_t packed_bytes = 0;

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the bad field
};

struct Batch {
  uint64_t epoch = 0;
  uint64_t step = 0;  // global batch index in the epoch: first sequence / G
  uint32_t rank = 0;
  uint32_t rows = 0;
  uint32_t seq_len = 0;
  std::vector<uint32_t> tokens;  // rows × seq_len, row-major (packed_bytes == 0)
  std::string packed;            // the same, little-endian, packed_bytes each (packed_bytes > 0)
  // With doc_boundaries: per row, the offsets (ascending) where a document's first token is.
  std::vector<std::vector<uint32_t>> doc_starts;
  std::string cursor;  // resumes after this batch
};

// Epoch layouts for a plan; a server shares them between the streams of one plan.
using LayoutSource =
    std::function<std::shared_ptr<const EpochLayout>(std::shared_ptr<const Plan>, uint64_t epoch)>;

// Not thread-safe; one per consumer. Reads tokens from the store as it goes (the plan and the
// current epoch's layout stay in memory: 16 bytes per document, shared when a LayoutSource is
// given).
class BatchStream {
 public:
  // `catalog` (open, read-only is enough) is borrowed for the stream's lifetime.
  // INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION as Plan::Build and the cursor check say.
  static absl::StatusOr<std::unique_ptr<BatchStream>> Open(const Catalog* catalog,
                                                           const StreamOptions& options);
  // Plans are pure functions; a caller may build one and share it among streams.
  static absl::StatusOr<std::unique_ptr<BatchStream>> Open(const Catalog* catalog,
                                                           std::shared_ptr<const Plan> plan,
                                                           const StreamOptions& options,
                                                           LayoutSource layouts = nullptr);

  // The next batch into `batch`; false when the requested epochs are done.
  absl::StatusOr<bool> Next(Batch* batch);

  const Plan& plan() const { return *plan_; }
  // The cursor of the next batch (before any: the start).
  std::string cursor() const;
  uint64_t steps_per_epoch() const;

 private:
  BatchStream(const Catalog* catalog, std::shared_ptr<const Plan> plan, StreamOptions options,
              LayoutSource layouts);
  // Fills one row into `out32` (uint32 ids) or, when null, `out_bytes` (options_.packed_bytes
  // each).
  absl::Status FillRow(uint64_t sequence, uint32_t* out32, uint8_t* out_bytes,
                       std::vector<uint32_t>* starts);
  absl::Status LoadDoc(size_t plan_index);

  const Catalog* const catalog_;
  const TokenStore store_;
  const std::shared_ptr<const Plan> plan_;
  const StreamOptions options_;
  const LayoutSource layouts_;
  const uint64_t global_batch_;
  uint64_t epoch_ = 0;
  uint64_t next_sequence_ = 0;
  std::shared_ptr<const EpochLayout> layout_;
  std::vector<EpochLayout::Piece> pieces_;
  // The last document read, as stored (a document often spans two sequences).
  size_t loaded_doc_ = SIZE_MAX;
  std::string packed_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_BATCH_STREAM_H_
