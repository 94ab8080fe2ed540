// Plans: which documents a stream uses, in which order each epoch, cut into which sequences.
// A plan is a pure function of (dataset version, tokenizer, filters, seq_len, seed); an epoch's
// layout is that plus the epoch number. Nothing here depends on threads, time or the process.
//
// Packing (like ConstantLengthDataset): the documents of an epoch, in the epoch's seeded order,
// each followed by the tokenizer's EOS, concatenated and cut into seq_len windows; the last
// partial window is dropped; no padding. Sequence k of an epoch is tokens [k·L, (k+1)·L) of that
// concatenation, located by binary search over prefix sums without materializing the others.
#ifndef SHARDSTREAM_SERVER_PLAN_H_
#define SHARDSTREAM_SERVER_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/permutation.h"
#include "common/stream_cursor.h"
#include "server/catalog.h"
#include "server/token_store.h"

namespace shardstream {

// Which documents a plan keeps.
struct DocFilters {
  bool dedup = true;            // keep only the first copy of identical texts
  std::string preset = "none";  // "none", or "codeparrot-clean" (docs/quality.md rules)

  absl::Status Validate() const;  // INVALID_ARGUMENT for an unknown preset
  Hash128 Fingerprint() const;
  bool Keeps(const v1::DocRecord& doc) const;
};

struct PlanSpec {
  std::string tokenizer;  // name or fingerprint prefix of a tokenized tokenizer
  DocFilters filters;
  uint32_t seq_len = 1024;  // tokens per sequence, in [1, 1,048,576]
  uint64_t seed = 0;

  absl::Status Validate() const;
};

// The documents of a plan (id order) and their token counts. Immutable; share it between the
// epochs and streams that use it. Memory: 8 bytes per eligible document.
class Plan {
 public:
  // FAILED_PRECONDITION when the tokenizer's store is incomplete (with its progress) or no
  // document is eligible; NOT_FOUND for an unknown tokenizer.
  static absl::StatusOr<std::shared_ptr<const Plan>> Build(const Catalog& catalog,
                                                           const TokenStore& store,
                                                           const PlanSpec& spec);

  const PlanIdentity& identity() const { return identity_; }
  const v1::TokenizerRecord& tokenizer() const { return tokenizer_; }
  uint32_t seq_len() const { return identity_.seq_len; }
  size_t num_docs() const { return doc_ids_.size(); }
  uint64_t doc_id(size_t i) const { return doc_ids_[i]; }
  uint32_t token_count(size_t i) const { return counts_[i]; }
  // Tokens per epoch, EOS included; the same for every epoch.
  uint64_t epoch_tokens() const { return epoch_tokens_; }
  // Full sequences per epoch: floor(epoch_tokens / seq_len).
  uint64_t sequences_per_epoch() const { return epoch_tokens_ / identity_.seq_len; }
  // Heap bytes held: 8 per document.
  size_t MemoryBytes() const {
    return doc_ids_.capacity() * sizeof(uint32_t) + counts_.capacity() * sizeof(uint32_t);
  }

 private:
  Plan() = default;
  PlanIdentity identity_;
  v1::TokenizerRecord tokenizer_;
  std::vector<uint32_t> doc_ids_;  // catalog ids (< 2^32)
  std::vector<uint32_t> counts_;   // tokens per document, EOS excluded
  uint64_t epoch_tokens_ = 0;
};

// One epoch: the seeded document order and the prefix sums that locate any sequence.
// Memory: 8 bytes per document. Thread-safe (immutable).
class EpochLayout {
 public:
  EpochLayout(std::shared_ptr<const Plan> plan, uint64_t epoch);

  uint64_t epoch() const { return epoch_; }
  const Plan& plan() const { return *plan_; }
  // The plan index of the document at position j of this epoch's order.
  size_t DocAt(size_t j) const { return static_cast<size_t>(order_.At(j)); }

  // One contiguous piece of a sequence: tokens [begin, end) of the document at epoch position
  // `position`, where index token_count (one past the last) stands for its EOS.
  struct Piece {
    size_t position;
    uint32_t begin;
    uint32_t end;
  };
  // The pieces of sequence k (< sequences_per_epoch), in order; they add up to seq_len tokens.
  void Pieces(uint64_t k, std::vector<Piece>* pieces) const;
  // Heap bytes held: 8 per document.
  size_t MemoryBytes() const { return starts_.capacity() * sizeof(uint64_t); }

 private:
  std::shared_ptr<const Plan> plan_;
  uint64_t epoch_;
  Permutation order_;
  std::vector<uint64_t> starts_;  // starts_[j]: first token of position j; starts_[n] = total
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_PLAN_H_
