#include "common/stream_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::StatusOr<std::shared_ptr<const StreamPlan>> StreamPlan::Create(
    StreamParameters parameters, std::vector<PartSize> parts) {
  if (parameters.seq_len < 1) return absl::InvalidArgumentError("seq_len must be at least 1");
  std::sort(parts.begin(), parts.end(),
            [](const PartSize& a, const PartSize& b) { return a.key < b.key; });
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].key == parts[i - 1].key) {
      return absl::InvalidArgumentError(
          absl::StrCat("part ", parts[i].key.ToString(), " is given twice"));
    }
  }
  std::vector<PartKey> keys;
  std::vector<uint64_t> sequences;
  for (const PartSize& p : parts) {
    keys.push_back(p.key);
    sequences.push_back(p.sequences);
  }
  if (parts.empty()) {
    return absl::FailedPreconditionError("the dataset has no documents for this plan");
  }
  ASSIGN_OR_RETURN(std::vector<uint64_t> all_weights,
                   parameters.mixture.PartWeights(keys, sequences));
  std::vector<PartSize> streamed;
  std::vector<uint64_t> weights;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (all_weights[i] == 0) continue;
    streamed.push_back(parts[i]);
    weights.push_back(all_weights[i]);
  }
  ASSIGN_OR_RETURN(Interleave interleave, Interleave::Create(weights));
  return std::shared_ptr<const StreamPlan>(new StreamPlan(
      std::move(parameters), std::move(streamed), std::move(weights), std::move(interleave)));
}

StreamPlan::StreamPlan(StreamParameters parameters, std::vector<PartSize> parts,
                       std::vector<uint64_t> weights, Interleave interleave)
    : parameters_(std::move(parameters)),
      parts_(std::move(parts)),
      weights_(std::move(weights)),
      interleave_(std::move(interleave)) {
  Hasher128 data;
  data.UpdateString("shardstream.parts.v1");
  data.UpdateU64(parameters_.partitions);
  for (const PartSize& p : parts_) {
    data.UpdateString(p.key.source);
    data.UpdateU64(p.key.partition);
    data.UpdateHash(p.version);
    epoch_sequences_ += p.sequences;
  }
  identity_.dataset_version = data.Digest();
  identity_.tokenizer = parameters_.tokenizer;
  identity_.filters = parameters_.filters;
  identity_.mixture = parameters_.mixture.Fingerprint();
  identity_.seq_len = parameters_.seq_len;
  identity_.seed = parameters_.seed;
}

StreamPlan::Row StreamPlan::Locate(uint64_t epoch, uint64_t i) const {
  const Interleave::Position at = interleave_.Locate(epoch * epoch_sequences_ + i);
  const uint64_t s = parts_[at.part].sequences;
  return Row{at.part, at.index / s, at.index % s};
}

}  // namespace shardstream
