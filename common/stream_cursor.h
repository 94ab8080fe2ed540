// The resume point of a stream: which plan, which epoch, which global sequence comes next.
// Printable and short, e.g. "ss2.0e424d33.f9022d5c.5d41402a.00000000.1024.42.3.81920":
//   ss2 . data . tokenizer . filters . mixture . seq_len . seed . epoch . next global sequence
// (the four fingerprints by their first 32 bits, in hex; data = the versions of the parts
// streamed, mixture = 00000000 for the natural one). Each part's own epoch and position follow
// from (epoch, next global sequence) through the interleave (stream_plan.h). It does not name
// world size, batch size or servers: resuming with other ones continues from the same global
// sequence (elastic).
#ifndef SHARDSTREAM_COMMON_STREAM_CURSOR_H_
#define SHARDSTREAM_COMMON_STREAM_CURSOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/hash128.h"

namespace shardstream {

// What a plan is a function of (besides the epoch).
struct PlanIdentity {
  Hash128 dataset_version;
  Hash128 tokenizer;
  Hash128 filters;
  Hash128 mixture;  // zero for the natural mixture
  uint32_t seq_len = 0;
  uint64_t seed = 0;

  Hash128 Fingerprint() const;
};

struct StreamCursor {
  uint32_t dataset_version = 0;  // first 32 bits of each fingerprint
  uint32_t tokenizer = 0;
  uint32_t filters = 0;
  uint32_t mixture = 0;
  uint32_t seq_len = 0;
  uint64_t seed = 0;
  uint64_t epoch = 0;
  uint64_t next_sequence = 0;  // global index of the first sequence not yet delivered

  static StreamCursor At(const PlanIdentity& plan, uint64_t epoch, uint64_t next_sequence);
  std::string ToString() const;
  // INVALID_ARGUMENT when `text` is not a cursor.
  static absl::StatusOr<StreamCursor> Parse(std::string_view text);
  // OK when the cursor belongs to `plan`; otherwise FAILED_PRECONDITION saying which parts
  // differ (data version, tokenizer, filters, mixture, seq_len, seed).
  absl::Status CheckBelongsTo(const PlanIdentity& plan) const;

  friend bool operator==(const StreamCursor&, const StreamCursor&) = default;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_STREAM_CURSOR_H_
