#include "server/part_reader.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {
namespace {

// The most bytes of a piece's ids prefetched before the sequence is copied.
constexpr size_t kPrefetchBytes = 256;

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

PartReader::PartReader(std::vector<const CatalogPlan*> plans, LayoutCache* layouts)
    : plans_(std::move(plans)), layouts_(layouts) {}

absl::Status PartReader::ReadSequence(const StreamPlan& plan, const StreamPlan::Row& row,
                                      const SequenceOut& out) {
  if (resolved_for_ != &plan) {
    resolved_.clear();
    for (const PartSize& wanted : plan.parts()) {
      Held held{nullptr, nullptr};
      for (const CatalogPlan* p : plans_) {
        const PartPlan* part = p->Find(wanted.key);
        if (part != nullptr && part->version() == wanted.version) {
          held = Held{p, part};
          break;
        }
      }
      resolved_.push_back(held);
    }
    resolved_for_ = &plan;
  }
  const Held& held = resolved_[row.part];
  if (held.part == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("part ", plan.parts()[row.part].key.ToString(),
                     " is not held here in the stream's version"));
  }
  return ReadPartSequence(*held.owner, *held.part, plan.parameters().seed, row.part_epoch,
                          row.sequence, out);
}

absl::Status PartReader::ReadPartSequence(const CatalogPlan& owner, const PartPlan& part,
                                          uint64_t seed, uint64_t part_epoch, uint64_t sequence,
                                          const SequenceOut& out) {
  const PartPacking& packing = *part.packing();
  if (sequence >= packing.sequences_per_epoch()) {
    return absl::InvalidArgumentError(absl::StrCat("part ", part.key().ToString(), " has ",
                                                   packing.sequences_per_epoch(),
                                                   " sequences per epoch; asked for ", sequence));
  }
  if (order_key_of_.part != &part || order_key_of_.seed != seed) {  // a hash: once per part
    order_key_of_ = {&part, seed, PartOrderKey(seed, part.key())};
  }
  const uint64_t order_key = order_key_of_.key;
  Current& current = current_[{&part, order_key}];
  if (current.layout == nullptr || current.layout->epoch() != part_epoch) {
    current.layout = nullptr;  // not held while the next one is built
    current.layout = layouts_->Get(part.packing(), order_key, part_epoch);
    current.hint = PartEpochLayout::kNoHint;
  }
  const PartEpochLayout* layout = current.layout.get();
  layout->Pieces(sequence, packing.seq_len(), &pieces_, current.hint);
  current.hint = pieces_.back().position;  // where the next sequence starts, or before
  const uint32_t eos = owner.tokenizer().eos_id();
  const uint32_t stored = owner.tokenizer().token_bytes(), wanted = out.width;
  // A sequence of small documents is a chain of two random reads per document: where its ids
  // start (its packing index and count are read in order from the layout), then its ids. Each
  // level is read for every piece before the next, so that the cache misses of a sequence
  // overlap instead of following one another.
  docs_.resize(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    docs_[i].index = layout->DocAt(pieces_[i].position);
    docs_[i].count = layout->CountAt(pieces_[i].position);
    part.PrefetchTokens(docs_[i].index);
  }
  for (size_t i = 0; i < pieces_.size(); ++i) {
    DocRead& doc = docs_[i];
    doc.tokens = part.tokens(doc.index);
    const uint32_t text_end = std::min(pieces_[i].end, doc.count);
    if (pieces_[i].begin >= text_end) continue;  // only its EOS
    // The lines of the piece's first ids (a small document's all): longer pieces are read in
    // order, where the hardware prefetches.
    const char* first = doc.tokens + size_t{pieces_[i].begin} * stored;
    const char* last =
        first + std::min<size_t>(size_t{text_end - pieces_[i].begin} * stored, kPrefetchBytes);
    for (uintptr_t line = reinterpret_cast<uintptr_t>(first) & ~uintptr_t{63};
         line < reinterpret_cast<uintptr_t>(last); line += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(line));
    }
  }
  uint32_t at = 0;
  for (size_t p = 0; p < pieces_.size(); ++p) {
    const PartEpochLayout::Piece& piece = pieces_[p];
    const uint32_t count = docs_[p].count;
    if (out.doc_starts != nullptr && piece.begin == 0) out.doc_starts->push_back(at);
    const uint32_t text_end = std::min(piece.end, count);
    if (piece.begin < text_end) {
      const auto* src = reinterpret_cast<const uint8_t*>(docs_[p].tokens);
      const uint32_t n = text_end - piece.begin;
      if (out.ids32 != nullptr) {
        const uint8_t* __restrict in = src + size_t{piece.begin} * stored;
        uint32_t* __restrict ids = out.ids32 + at;
        if (stored == 2) {  // one loop per width, so the compiler vectorizes it
          for (uint32_t i = 0; i < n; ++i) ids[i] = in[2 * i] | (uint32_t{in[2 * i + 1]} << 8);
        } else {
          for (uint32_t i = 0; i < n; ++i) ids[i] = IdAt(in, 4, i);
        }
      } else if (wanted == stored) {  // the served path: bytes as stored
        std::memcpy(out.bytes + size_t{at} * wanted, src + size_t{piece.begin} * stored,
                    size_t{n} * stored);
      } else {
        for (uint32_t i = 0; i < n; ++i) {
          PutId(out.bytes + size_t{at + i} * wanted, wanted, IdAt(src, stored, piece.begin + i));
        }
      }
      at += n;
    }
    if (piece.end == count + 1) {  // the piece includes the document's EOS
      if (out.ids32 != nullptr) {
        out.ids32[at] = eos;
      } else {
        PutId(out.bytes + size_t{at} * wanted, wanted, eos);
      }
      ++at;
    }
  }
  return absl::OkStatus();
}

}  // namespace shardstream
