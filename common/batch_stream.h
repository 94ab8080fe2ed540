// A rank's stream of [batch_size, seq_len] token batches: the rank schedule (which rows) over a
// SequenceSource (where a row's tokens come from). The embedded `shardstream stream`, the
// server's StreamBatches and tests share it; the remote client assembles the same rows from
// several servers (client/reader.h) with the same schedule.
#ifndef SHARDSTREAM_COMMON_BATCH_STREAM_H_
#define SHARDSTREAM_COMMON_BATCH_STREAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rank_schedule.h"
#include "common/stream_plan.h"

namespace shardstream {

struct Batch {
  uint64_t epoch = 0;
  uint64_t step = 0;  // global batch index in the epoch
  uint32_t rank = 0;
  uint32_t rows = 0;
  uint32_t seq_len = 0;
  std::vector<uint32_t> tokens;  // rows × seq_len, row-major (packed_bytes == 0)
  std::string packed;            // the same, little-endian, packed_bytes each (packed_bytes > 0)
  // With doc_boundaries: per row, the offsets (ascending) where a document's first token is.
  std::vector<std::vector<uint32_t>> doc_starts;
  std::string cursor;  // resumes after this batch
};

// Where one sequence's seq_len ids go: `ids32` (uint32 each) when set, else `bytes`
// (little-endian, `width` = 2 or 4 bytes each).
struct SequenceOut {
  uint32_t* ids32 = nullptr;
  uint8_t* bytes = nullptr;
  uint32_t width = 0;
  std::vector<uint32_t>* doc_starts = nullptr;  // when set: offsets where a document begins
};

// Reads the tokens of one packed sequence of one part. Implementations say their thread-safety.
class SequenceSource {
 public:
  virtual ~SequenceSource() = default;
  // Sequence `row` of `plan`. Errors: NOT_FOUND / FAILED_PRECONDITION when the part is not
  // held or is another version, DATA_LOSS for damaged storage.
  virtual absl::Status ReadSequence(const StreamPlan& plan, const StreamPlan::Row& row,
                                    const SequenceOut& out) = 0;
};

struct StreamOptions {
  RankOptions rank;
  std::string resume_cursor;    // start after this cursor; empty: epoch 0, sequence 0
  bool doc_boundaries = false;  // also report where documents start in each row
  // 0: batches in Batch::tokens (uint32). 2 or 4: in Batch::packed, little-endian ids of that
  // many bytes. 2 requires ids below 65,536.
  uint32_t packed_bytes = 0;

  absl::Status Validate(uint32_t seq_len) const;  // INVALID_ARGUMENT naming the bad field
};

// Not thread-safe; one per consumer.
class BatchStream {
 public:
  // `source` is borrowed for the stream's lifetime. INVALID_ARGUMENT / FAILED_PRECONDITION as
  // RankSchedule::Create says.
  static absl::StatusOr<std::unique_ptr<BatchStream>> Open(std::shared_ptr<const StreamPlan> plan,
                                                           SequenceSource* source,
                                                           const StreamOptions& options);

  // The next batch into `batch`; false when the requested epochs are done.
  absl::StatusOr<bool> Next(Batch* batch);

  const StreamPlan& plan() const { return schedule_.plan(); }
  // The cursor of the next batch (before any: the start).
  std::string cursor() const { return schedule_.cursor(); }
  // The epoch of the next batch (nullopt after the last).
  std::optional<uint64_t> next_epoch() const {
    const std::optional<RankSchedule::Slot> slot = schedule_.Current();
    return slot.has_value() ? std::optional<uint64_t>(slot->epoch) : std::nullopt;
  }
  uint64_t steps_per_epoch() const { return schedule_.steps_per_epoch(); }

 private:
  BatchStream(RankSchedule schedule, SequenceSource* source, StreamOptions options)
      : schedule_(std::move(schedule)), source_(source), options_(std::move(options)) {}

  RankSchedule schedule_;
  SequenceSource* const source_;
  const StreamOptions options_;
  std::vector<StreamPlan::Row> rows_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_BATCH_STREAM_H_
