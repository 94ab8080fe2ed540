// The stream of a whole mixture, as pure math: global sequence (epoch e, index i) → (part, that
// part's epoch, its sequence in that epoch). Shared by the embedded stream, the server and the
// client, so all three cut the same stream.
//
// A global epoch holds E = Σ S_p sequences (S_p: full sequences per epoch of part p, over the
// parts the mixture streams). Global sequence (e, i) is interleave position k = e·E + i; the
// interleave (interleave.h) gives the part and its count j of earlier sequences; the part is
// then in its epoch j / S_p at sequence j mod S_p. With the natural mixture, global epoch e is
// exactly epoch e of every part; with weights, each part runs through its own epochs at its
// own pace.
//
// Ranks (rank_schedule.h) take rows of global batches of G = world_size × batch_size
// sequences; the last E mod G sequences of every global epoch are skipped (dropped tail).
#ifndef SHARDSTREAM_COMMON_STREAM_PLAN_H_
#define SHARDSTREAM_COMMON_STREAM_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/interleave.h"
#include "common/mixture.h"
#include "common/part_key.h"
#include "common/stream_cursor.h"

namespace shardstream {

// One part of one plan (tokenizer, filters, seq_len), as a holder reports it.
struct PartSize {
  PartKey key;
  Hash128 version;         // the part's content version (independent of the plan)
  uint64_t docs = 0;       // documents the plan keeps
  uint64_t tokens = 0;     // tokens per part epoch, EOS included
  uint64_t sequences = 0;  // full sequences per part epoch: tokens / seq_len

  friend bool operator==(const PartSize&, const PartSize&) = default;
};

// What a stream is a function of, besides the parts.
struct StreamParameters {
  Hash128 tokenizer;        // fingerprint
  Hash128 filters;          // fingerprint of the filter rules
  uint32_t seq_len = 1024;  // tokens per sequence
  uint64_t seed = 0;
  uint32_t partitions = 1;  // P of the dataset
  Mixture mixture;
};

// Thread-safety: immutable; share it.
class StreamPlan {
 public:
  // `parts`: every part of the dataset for this plan (any order; unique keys). Parts the
  // mixture leaves out or without one full sequence are not streamed. INVALID_ARGUMENT /
  // NOT_FOUND / FAILED_PRECONDITION as Mixture::PartWeights says.
  static absl::StatusOr<std::shared_ptr<const StreamPlan>> Create(StreamParameters parameters,
                                                                  std::vector<PartSize> parts);

  const StreamParameters& parameters() const { return parameters_; }
  // dataset_version = fingerprint of P and the streamed parts' keys and versions.
  const PlanIdentity& identity() const { return identity_; }
  // The parts streamed, by key; Row::part indexes this.
  const std::vector<PartSize>& parts() const { return parts_; }
  const std::vector<uint64_t>& weights() const { return weights_; }
  // E: sequences per global epoch.
  uint64_t epoch_sequences() const { return epoch_sequences_; }
  const Interleave& interleave() const { return interleave_; }

  struct Row {
    uint32_t part;        // index into parts()
    uint64_t part_epoch;  // that part's epoch
    uint64_t sequence;    // sequence within the part epoch, < parts()[part].sequences

    friend bool operator==(const Row&, const Row&) = default;
  };
  // Global sequence i (< epoch_sequences()) of global epoch `epoch`.
  Row Locate(uint64_t epoch, uint64_t i) const;

 private:
  StreamPlan(StreamParameters parameters, std::vector<PartSize> parts,
             std::vector<uint64_t> weights, Interleave interleave);

  StreamParameters parameters_;
  std::vector<PartSize> parts_;
  std::vector<uint64_t> weights_;
  Interleave interleave_;
  PlanIdentity identity_;
  uint64_t epoch_sequences_ = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_STREAM_PLAN_H_
