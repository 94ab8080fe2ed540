#include "server/batch_stream.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status StreamOptions::Validate() const {
  RETURN_IF_ERROR(plan.Validate());
  if (world_size < 1) return absl::InvalidArgumentError("world_size must be at least 1");
  if (rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", rank, " is not below world_size ", world_size));
  }
  if (batch_size < 1 || batch_size > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be in [1, 65536], got ", batch_size));
  }
  if (uint64_t{batch_size} * plan.seq_len > (uint64_t{1} << 28)) {
    return absl::InvalidArgumentError("batch_size × seq_len must be at most 2^28 tokens");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BatchStream>> BatchStream::Open(const Catalog* catalog,
                                                               const StreamOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  TokenStore store(catalog);
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, Plan::Build(*catalog, store, options.plan));
  return Open(catalog, std::move(plan), options);
}

absl::StatusOr<std::unique_ptr<BatchStream>> BatchStream::Open(const Catalog* catalog,
                                                               std::shared_ptr<const Plan> plan,
                                                               const StreamOptions& options,
                                                               LayoutSource layouts) {
  RETURN_IF_ERROR(options.Validate());
  auto stream = std::unique_ptr<BatchStream>(
      new BatchStream(catalog, std::move(plan), options, std::move(layouts)));
  const uint64_t g = stream->global_batch_;
  const uint64_t s = stream->plan_->sequences_per_epoch();
  if (s < g) {
    return absl::FailedPreconditionError(
        absl::StrCat("an epoch has ", s, " sequences of ", stream->plan_->seq_len(),
                     " tokens, fewer than one global batch of world_size × batch_size = ", g,
                     "; use a smaller batch, world size or seq_len"));
  }
  if (!options.resume_cursor.empty()) {
    ASSIGN_OR_RETURN(StreamCursor cursor, StreamCursor::Parse(options.resume_cursor));
    RETURN_IF_ERROR(cursor.CheckBelongsTo(stream->plan_->identity()));
    if (cursor.next_sequence > s) {
      return absl::InvalidArgumentError(
          absl::StrCat("the cursor's sequence ", cursor.next_sequence, " is past the epoch's ", s));
    }
    stream->epoch_ = cursor.epoch;
    stream->next_sequence_ = cursor.next_sequence;
  }
  return stream;
}

BatchStream::BatchStream(const Catalog* catalog, std::shared_ptr<const Plan> plan,
                         StreamOptions options, LayoutSource layouts)
    : catalog_(catalog),
      store_(catalog),
      plan_(std::move(plan)),
      options_(std::move(options)),
      layouts_(std::move(layouts)),
      global_batch_(uint64_t{options_.world_size} * options_.batch_size) {}

std::string BatchStream::cursor() const {
  return StreamCursor::At(plan_->identity(), epoch_, next_sequence_).ToString();
}

uint64_t BatchStream::steps_per_epoch() const {
  return plan_->sequences_per_epoch() / global_batch_;
}

absl::Status BatchStream::LoadDoc(size_t plan_index) {
  if (plan_index == loaded_doc_) return absl::OkStatus();
  RETURN_IF_ERROR(
      store_.ReadTokens(plan_->identity().tokenizer, plan_->doc_id(plan_index), &packed_));
  const uint32_t width = plan_->tokenizer().token_bytes();
  const size_t n = packed_.size() / width;
  if (n != plan_->token_count(plan_index) || packed_.size() % width != 0) {
    return absl::DataLossError(absl::StrCat("tokens of document ", plan_->doc_id(plan_index),
                                            " do not match their count; re-run tokenize"));
  }
  doc_tokens_.resize(n);
  const auto* p = reinterpret_cast<const uint8_t*>(packed_.data());
  if (width == 2) {
    for (size_t i = 0; i < n; ++i) doc_tokens_[i] = p[2 * i] | (uint32_t{p[2 * i + 1]} << 8);
  } else {
    for (size_t i = 0; i < n; ++i) {
      doc_tokens_[i] = p[4 * i] | (uint32_t{p[4 * i + 1]} << 8) | (uint32_t{p[4 * i + 2]} << 16) |
                       (uint32_t{p[4 * i + 3]} << 24);
    }
  }
  loaded_doc_ = plan_index;
  return absl::OkStatus();
}

absl::Status BatchStream::FillRow(uint64_t sequence, uint32_t* out, std::vector<uint32_t>* starts) {
  layout_->Pieces(sequence, &pieces_);
  const uint32_t eos = plan_->tokenizer().eos_id();
  uint32_t at = 0;
  for (const EpochLayout::Piece& piece : pieces_) {
    const size_t doc = layout_->DocAt(piece.position);
    const uint32_t count = plan_->token_count(doc);
    if (starts != nullptr && piece.begin == 0) starts->push_back(at);
    const uint32_t text_end = std::min(piece.end, count);
    if (piece.begin < text_end) {
      RETURN_IF_ERROR(LoadDoc(doc));
      std::copy(doc_tokens_.begin() + piece.begin, doc_tokens_.begin() + text_end, out + at);
      at += text_end - piece.begin;
    }
    if (piece.end == count + 1) out[at++] = eos;  // the piece includes the document's EOS
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> BatchStream::Next(Batch* batch) {
  const uint64_t s = plan_->sequences_per_epoch();
  if (next_sequence_ + global_batch_ > s) {  // the epoch's tail: dropped
    ++epoch_;
    next_sequence_ = 0;
  }
  if (options_.epochs != 0 && epoch_ >= options_.epochs) return false;
  if (layout_ == nullptr || layout_->epoch() != epoch_) {
    layout_ =
        layouts_ ? layouts_(plan_, epoch_) : std::make_shared<const EpochLayout>(plan_, epoch_);
    loaded_doc_ = SIZE_MAX;
  }
  const uint32_t rows = options_.batch_size, len = plan_->seq_len();
  batch->epoch = epoch_;
  batch->step = next_sequence_ / global_batch_;
  batch->rank = options_.rank;
  batch->rows = rows;
  batch->seq_len = len;
  batch->tokens.resize(size_t{rows} * len);
  batch->doc_starts.assign(options_.doc_boundaries ? rows : 0, {});
  const uint64_t first = next_sequence_ + uint64_t{options_.rank} * rows;
  for (uint32_t r = 0; r < rows; ++r) {
    RETURN_IF_ERROR(FillRow(first + r, batch->tokens.data() + size_t{r} * len,
                            options_.doc_boundaries ? &batch->doc_starts[r] : nullptr));
  }
  next_sequence_ += global_batch_;
  batch->cursor = cursor();
  return true;
}

}  // namespace shardstream
