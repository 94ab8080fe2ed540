#include "server/batch_stream.h"

#include <cstring>

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
  if (packed_bytes != 0 && packed_bytes != 2 && packed_bytes != 4) {
    return absl::InvalidArgumentError("packed_bytes must be 0, 2 or 4");
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
  if (packed_.size() != size_t{plan_->token_count(plan_index)} * width) {
    return absl::DataLossError(absl::StrCat("tokens of document ", plan_->doc_id(plan_index),
                                            " do not match their count; re-run tokenize"));
  }
  loaded_doc_ = plan_index;
  return absl::OkStatus();
}

namespace {

// Id i of little-endian ids `width` bytes wide.
inline uint32_t IdAt(const uint8_t* p, uint32_t width, size_t i) {
  p += size_t{i} * width;
  return width == 2
             ? p[0] | (uint32_t{p[1]} << 8)
             : p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

inline void PutId(uint8_t* out, uint32_t width, uint32_t id) {
  for (uint32_t b = 0; b < width; ++b) out[b] = static_cast<uint8_t>(id >> (8 * b));
}

}  // namespace

absl::Status BatchStream::FillRow(uint64_t sequence, uint32_t* out32, uint8_t* out_bytes,
                                  std::vector<uint32_t>* starts) {
  layout_->Pieces(sequence, &pieces_);
  const uint32_t eos = plan_->tokenizer().eos_id();
  const uint32_t stored = plan_->tokenizer().token_bytes(), wanted = options_.packed_bytes;
  uint32_t at = 0;
  for (const EpochLayout::Piece& piece : pieces_) {
    const size_t doc = layout_->DocAt(piece.position);
    const uint32_t count = plan_->token_count(doc);
    if (starts != nullptr && piece.begin == 0) starts->push_back(at);
    const uint32_t text_end = std::min(piece.end, count);
    if (piece.begin < text_end) {
      RETURN_IF_ERROR(LoadDoc(doc));
      const auto* src = reinterpret_cast<const uint8_t*>(packed_.data());
      const uint32_t n = text_end - piece.begin;
      if (out32 != nullptr) {
        const uint8_t* __restrict in = src + size_t{piece.begin} * stored;
        uint32_t* __restrict out = out32 + at;
        if (stored == 2) {  // one loop per width, so the compiler vectorizes it
          for (uint32_t i = 0; i < n; ++i) out[i] = in[2 * i] | (uint32_t{in[2 * i + 1]} << 8);
        } else {
          for (uint32_t i = 0; i < n; ++i) out[i] = IdAt(in, 4, i);
        }
      } else if (wanted == stored) {  // the served path: bytes as stored
        std::memcpy(out_bytes + size_t{at} * wanted, src + size_t{piece.begin} * stored,
                    size_t{n} * stored);
      } else {
        for (uint32_t i = 0; i < n; ++i) {
          PutId(out_bytes + size_t{at + i} * wanted, wanted, IdAt(src, stored, piece.begin + i));
        }
      }
      at += n;
    }
    if (piece.end == count + 1) {  // the piece includes the document's EOS
      if (out32 != nullptr) {
        out32[at] = eos;
      } else {
        PutId(out_bytes + size_t{at} * wanted, wanted, eos);
      }
      ++at;
    }
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
  const uint32_t width = options_.packed_bytes;
  if (width == 0) {
    batch->tokens.resize(size_t{rows} * len);
    batch->packed.clear();
  } else {
    batch->packed.resize(size_t{rows} * len * width);
    batch->tokens.clear();
  }
  batch->doc_starts.assign(options_.doc_boundaries ? rows : 0, {});
  const uint64_t first = next_sequence_ + uint64_t{options_.rank} * rows;
  for (uint32_t r = 0; r < rows; ++r) {
    const size_t offset = size_t{r} * len;
    RETURN_IF_ERROR(FillRow(
        first + r, width == 0 ? batch->tokens.data() + offset : nullptr,
        width == 0 ? nullptr : reinterpret_cast<uint8_t*>(batch->packed.data()) + offset * width,
        options_.doc_boundaries ? &batch->doc_starts[r] : nullptr));
  }
  next_sequence_ += global_batch_;
  batch->cursor = cursor();
  return true;
}

}  // namespace shardstream
