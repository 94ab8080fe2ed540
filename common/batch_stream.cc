#include "common/batch_stream.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status StreamOptions::Validate(uint32_t seq_len) const {
  RETURN_IF_ERROR(rank.Validate());
  if (packed_bytes != 0 && packed_bytes != 2 && packed_bytes != 4) {
    return absl::InvalidArgumentError("packed_bytes must be 0, 2 or 4");
  }
  if (uint64_t{rank.batch_size} * seq_len > (uint64_t{1} << 28)) {
    return absl::InvalidArgumentError("batch_size × seq_len must be at most 2^28 tokens");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BatchStream>> BatchStream::Open(
    std::shared_ptr<const StreamPlan> plan, SequenceSource* source, const StreamOptions& options) {
  RETURN_IF_ERROR(options.Validate(plan->parameters().seq_len));
  ASSIGN_OR_RETURN(RankSchedule schedule,
                   RankSchedule::Create(std::move(plan), options.rank, options.resume_cursor));
  return std::unique_ptr<BatchStream>(new BatchStream(std::move(schedule), source, options));
}

absl::StatusOr<bool> BatchStream::Next(Batch* batch) {
  const std::optional<RankSchedule::Slot> slot = schedule_.Current();
  if (!slot.has_value()) return false;
  const uint32_t rows = options_.rank.batch_size, len = schedule_.plan().parameters().seq_len;
  batch->epoch = slot->epoch;
  batch->step = slot->step;
  batch->rank = options_.rank.rank;
  batch->rows = rows;
  batch->seq_len = len;
  const uint32_t width = options_.packed_bytes;
  if (width == 0) {
    batch->tokens.resize(size_t{rows} * len);
    batch->packed.clear();
  } else {
    batch->packed.resize(size_t{rows} * len * width);
    batch->tokens.clear();
  }
  batch->doc_starts.assign(options_.doc_boundaries ? rows : 0, {});
  schedule_.Rows(*slot, &rows_);
  for (uint32_t r = 0; r < rows; ++r) {
    const size_t offset = size_t{r} * len;
    SequenceOut out;
    if (width == 0) {
      out.ids32 = batch->tokens.data() + offset;
    } else {
      out.bytes = reinterpret_cast<uint8_t*>(batch->packed.data()) + offset * width;
      out.width = width;
    }
    out.doc_starts = options_.doc_boundaries ? &batch->doc_starts[r] : nullptr;
    RETURN_IF_ERROR(source_->ReadSequence(schedule_.plan(), rows_[r], out));
  }
  schedule_.Advance();
  batch->cursor = schedule_.cursor();
  return true;
}

}  // namespace shardstream
