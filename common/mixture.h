// A mixture: which sources a stream draws from and in what proportions.
//
// Spec: "" (natural: every part in proportion to its size — the whole dataset), or
// "NAME=W[,NAME=W...]": weights are proportions of sequences, normalised, decimals with at most
// 9 fractional digits ("python=0.7,docs=0.3", "a=2,b=1"). Sources not named are left out.
// Within a source, its partitions share its weight in proportion to their sizes. A source whose
// share is above its natural one repeats (each part with its own epochs, a new shuffle each
// time); one below is subsampled.
//
// Interleave weights (interleave.h) are integers: natural ones are the parts' sequences per
// epoch (exact; global epoch e then holds exactly epoch e of every part); a named source's
// share is floor(W·2^60 / ΣW), split over its parts as floor(share·S_part / S_source) (at
// least 1): exact to 2^-60 of the stream.
#ifndef SHARDSTREAM_COMMON_MIXTURE_H_
#define SHARDSTREAM_COMMON_MIXTURE_H_

#include <cstdint>
#include <span>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/part_key.h"

namespace shardstream {

class Mixture {
 public:
  Mixture() = default;  // natural
  // INVALID_ARGUMENT naming what is wrong (syntax, weight <= 0, a source named twice).
  static absl::StatusOr<Mixture> Parse(absl::string_view spec);

  bool natural() const { return weights_.empty(); }
  // Sources and weights in billionths, by name.
  const std::vector<std::pair<std::string, uint64_t>>& weights() const { return weights_; }
  // Canonical spec ("" when natural): names sorted, weights normalised to the shortest decimal.
  std::string ToString() const;
  Hash128 Fingerprint() const;

  // Interleave weights for parts `keys` (sorted) of `sequences` each (sequences per part
  // epoch); 0 for a part the stream leaves out. NOT_FOUND for a named source with no part;
  // FAILED_PRECONDITION for a named source without one full sequence; FAILED_PRECONDITION when
  // nothing is left.
  absl::StatusOr<std::vector<uint64_t>> PartWeights(std::span<const PartKey> keys,
                                                    std::span<const uint64_t> sequences) const;

 private:
  std::vector<std::pair<std::string, uint64_t>> weights_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_MIXTURE_H_
