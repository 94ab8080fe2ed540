// Packing one part (like ConstantLengthDataset): the part's documents, in the epoch's seeded
// order, each followed by the tokenizer's EOS, concatenated and cut into seq_len windows; the
// last partial window is dropped; no padding. Sequence k of a part epoch is tokens
// [k·L, (k+1)·L) of that concatenation, located by binary search over prefix sums without
// materializing the others. Pure: nothing here depends on threads, time, storage or the process.
#ifndef SHARDSTREAM_COMMON_PART_PACKING_H_
#define SHARDSTREAM_COMMON_PART_PACKING_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "common/huge_pages.h"
#include "common/part_key.h"
#include "common/permutation.h"

namespace shardstream {

// The documents of one part in a plan, as token counts in the part's canonical order (its files
// by relative path, each file's documents in line order). Immutable; memory: 4 bytes per
// document, shared by the packings of the same counts at other seq_lens.
class PartPacking {
 public:
  PartPacking(std::shared_ptr<const std::vector<uint32_t>> token_counts, uint32_t seq_len);
  PartPacking(std::vector<uint32_t> token_counts, uint32_t seq_len)
      : PartPacking(std::make_shared<const std::vector<uint32_t>>(std::move(token_counts)),
                    seq_len) {}

  size_t num_docs() const { return counts_->size(); }
  uint32_t token_count(size_t i) const { return (*counts_)[i]; }  // EOS excluded
  const std::vector<uint32_t>& counts() const { return *counts_; }
  const std::shared_ptr<const std::vector<uint32_t>>& shared_counts() const { return counts_; }
  uint32_t seq_len() const { return seq_len_; }
  // Tokens per epoch, EOS included; the same for every epoch.
  uint64_t epoch_tokens() const { return epoch_tokens_; }
  // Full sequences per epoch: floor(epoch_tokens / seq_len).
  uint64_t sequences_per_epoch() const { return epoch_tokens_ / seq_len_; }

 private:
  std::shared_ptr<const std::vector<uint32_t>> counts_;
  uint32_t seq_len_;
  uint64_t epoch_tokens_ = 0;
};

// The key of a part's epoch orders: a function of the stream's seed and the part, so parts
// shuffle independently.
uint64_t PartOrderKey(uint64_t seed, const PartKey& part);

// One epoch of one part: the seeded document order (a Permutation, evaluated once per document
// when the layout is built and kept) and the prefix sums that locate any sequence. It depends on
// the token counts, not on seq_len: the packings of the same counts at every seq_len share it.
// Memory: 12 bytes per document. Thread-safe (immutable).
class PartEpochLayout {
 public:
  // The packing must hold fewer than 2^32 documents (a catalog's ids are 32-bit). Built on up to
  // `threads` threads (each of at least kLeastRunDocs documents); the result does not depend on
  // how many.
  PartEpochLayout(const PartPacking& packing, uint64_t order_key, uint64_t epoch, int threads = 1);
  static constexpr size_t kLeastRunDocs = size_t{1} << 16;

  uint64_t epoch() const { return epoch_; }
  // The counts it was built from (PartPacking::shared_counts).
  const std::vector<uint32_t>& counts() const { return *counts_; }
  // The packing index of the document at position j of this epoch's order.
  size_t DocAt(size_t j) const { return order_[j]; }
  // Its token count (EOS excluded), read from the prefix sums: positions of a sequence are
  // consecutive, so this reads memory in order, where token_count(DocAt(j)) would not.
  uint32_t CountAt(size_t j) const {
    return static_cast<uint32_t>(starts_[j + 1] - starts_[j] - 1);
  }

  // One contiguous piece of a sequence: tokens [begin, end) of the document at epoch position
  // `position`, where index token_count (one past the last) stands for its EOS.
  struct Piece {
    size_t position;
    uint32_t begin;
    uint32_t end;
  };
  // The pieces of sequence k of a packing at `seq_len` (k < its sequences_per_epoch), in order;
  // they add up to seq_len tokens. The position holding the sequence's first token is searched
  // from `hint` forward when the hint is at or before it (the last piece's position of an
  // earlier sequence: a reader of consecutive sequences then reads the prefix sums near where
  // it is, instead of ~log2(documents) random lines of them), over the whole epoch otherwise.
  // The result does not depend on the hint.
  static constexpr size_t kNoHint = ~size_t{0};
  void Pieces(uint64_t k, uint32_t seq_len, std::vector<Piece>* pieces,
              size_t hint = kNoHint) const;
  size_t MemoryBytes() const {
    return order_.capacity() * sizeof(uint32_t) + starts_.capacity() * sizeof(uint64_t);
  }

 private:
  std::shared_ptr<const std::vector<uint32_t>> counts_;
  uint64_t epoch_;
  // In huge pages: megabytes made fresh every epoch (one page fault per 2 MiB, not per 4 KiB),
  // and searched at random by Pieces.
  HugePageVector<uint32_t> order_;   // order_[j]: the packing index at position j
  HugePageVector<uint64_t> starts_;  // starts_[j]: first token of position j; starts_[n] = total
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PART_PACKING_H_
