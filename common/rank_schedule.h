// Which global sequences one rank reads, batch after batch, and the cursor after each.
//
// Global batch g of a global epoch is sequences [g·G, (g+1)·G) with G = world_size ×
// batch_size; rank r gets rows [r·B, (r+1)·B) of it. Every rank gets floor(E / G) batches per
// epoch (E: the plan's sequences per epoch); the tail of fewer than G sequences is dropped.
// After each batch the cursor names the next global sequence, so a stream resumed from it —
// with any world size, batch size or set of servers — continues exactly where this one
// stopped, losing and repeating nothing.
#ifndef SHARDSTREAM_COMMON_RANK_SCHEDULE_H_
#define SHARDSTREAM_COMMON_RANK_SCHEDULE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/stream_plan.h"

namespace shardstream {

struct RankOptions {
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint32_t batch_size = 8;  // rows per batch for this rank
  uint64_t epochs = 0;      // stop after this many global epochs (from epoch 0); 0: never

  absl::Status Validate() const;  // INVALID_ARGUMENT naming the bad field
};

// Not thread-safe; one per consumer. Cheap to copy.
class RankSchedule {
 public:
  // `resume_cursor`: start after it ("" = the beginning). INVALID_ARGUMENT for bad options or
  // a malformed cursor; FAILED_PRECONDITION for another plan's cursor (naming what differs) or
  // when an epoch has fewer sequences than one global batch.
  static absl::StatusOr<RankSchedule> Create(std::shared_ptr<const StreamPlan> plan,
                                             const RankOptions& options,
                                             std::string_view resume_cursor);

  struct Slot {
    uint64_t epoch;
    uint64_t step;   // global batch index in the epoch
    uint64_t first;  // global sequence (within the epoch) of this rank's first row
  };
  // The next batch of this rank, or nullopt when the requested epochs are done.
  std::optional<Slot> Current() const;
  // The rows of `slot`, in order.
  void Rows(const Slot& slot, std::vector<StreamPlan::Row>* rows) const;
  // Moves past Current().
  void Advance();
  // The cursor that resumes at Current() (before any batch: the start).
  std::string cursor() const;

  const StreamPlan& plan() const { return *plan_; }
  const RankOptions& options() const { return options_; }
  uint64_t global_batch() const { return global_batch_; }
  uint64_t steps_per_epoch() const { return plan_->epoch_sequences() / global_batch_; }

 private:
  RankSchedule(std::shared_ptr<const StreamPlan> plan, const RankOptions& options);
  // Where the next batch starts, after skipping an epoch's dropped tail.
  std::pair<uint64_t, uint64_t> Next() const;

  std::shared_ptr<const StreamPlan> plan_;
  RankOptions options_;
  uint64_t global_batch_;
  uint64_t epoch_ = 0;
  uint64_t next_sequence_ = 0;  // global index in the epoch of the first sequence not delivered
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_RANK_SCHEDULE_H_
