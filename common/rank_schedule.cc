#include "common/rank_schedule.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status RankOptions::Validate() const {
  if (world_size < 1) return absl::InvalidArgumentError("world_size must be at least 1");
  if (rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", rank, " is not below world_size ", world_size));
  }
  if (batch_size < 1 || batch_size > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be in [1, 65536], got ", batch_size));
  }
  return absl::OkStatus();
}

RankSchedule::RankSchedule(std::shared_ptr<const StreamPlan> plan, const RankOptions& options)
    : plan_(std::move(plan)),
      options_(options),
      global_batch_(uint64_t{options.world_size} * options.batch_size) {}

absl::StatusOr<RankSchedule> RankSchedule::Create(std::shared_ptr<const StreamPlan> plan,
                                                  const RankOptions& options,
                                                  std::string_view resume_cursor) {
  RETURN_IF_ERROR(options.Validate());
  RankSchedule schedule(std::move(plan), options);
  const uint64_t e = schedule.plan_->epoch_sequences();
  if (e < schedule.global_batch_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an epoch has ", e, " sequences of ", schedule.plan_->parameters().seq_len,
        " tokens, fewer than one global batch of world_size × batch_size = ",
        schedule.global_batch_, "; use a smaller batch, world size or seq_len"));
  }
  if (!resume_cursor.empty()) {
    ASSIGN_OR_RETURN(StreamCursor cursor, StreamCursor::Parse(resume_cursor));
    RETURN_IF_ERROR(cursor.CheckBelongsTo(schedule.plan_->identity()));
    if (cursor.next_sequence > e) {
      return absl::InvalidArgumentError(
          absl::StrCat("the cursor's sequence ", cursor.next_sequence, " is past the epoch's ", e));
    }
    schedule.epoch_ = cursor.epoch;
    schedule.next_sequence_ = cursor.next_sequence;
  }
  return schedule;
}

std::pair<uint64_t, uint64_t> RankSchedule::Next() const {
  if (next_sequence_ + global_batch_ > plan_->epoch_sequences()) return {epoch_ + 1, 0};
  return {epoch_, next_sequence_};
}

std::optional<RankSchedule::Slot> RankSchedule::Current() const {
  const auto [epoch, next] = Next();
  if (options_.epochs != 0 && epoch >= options_.epochs) return std::nullopt;
  return Slot{epoch, next / global_batch_, next + uint64_t{options_.rank} * options_.batch_size};
}

void RankSchedule::Rows(const Slot& slot, std::vector<StreamPlan::Row>* rows) const {
  rows->clear();
  for (uint32_t r = 0; r < options_.batch_size; ++r) {
    rows->push_back(plan_->Locate(slot.epoch, slot.first + r));
  }
}

void RankSchedule::Advance() {
  const auto [epoch, next] = Next();
  epoch_ = epoch;
  next_sequence_ = next + global_batch_;
}

std::string RankSchedule::cursor() const {
  return StreamCursor::At(plan_->identity(), epoch_, next_sequence_).ToString();
}

}  // namespace shardstream
