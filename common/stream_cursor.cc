#include "common/stream_cursor.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace shardstream {
namespace {

uint32_t Short(const Hash128& h) { return static_cast<uint32_t>(h.hi >> 32); }

}  // namespace

Hash128 PlanIdentity::Fingerprint() const {
  Hasher128 h;
  h.UpdateString("shardstream.plan.v2");
  h.UpdateHash(dataset_version);
  h.UpdateHash(tokenizer);
  h.UpdateHash(filters);
  h.UpdateHash(mixture);
  h.UpdateU64(seq_len);
  h.UpdateU64(seed);
  return h.Digest();
}

StreamCursor StreamCursor::At(const PlanIdentity& plan, uint64_t epoch, uint64_t next_sequence) {
  StreamCursor c;
  c.dataset_version = Short(plan.dataset_version);
  c.tokenizer = Short(plan.tokenizer);
  c.filters = Short(plan.filters);
  c.mixture = Short(plan.mixture);
  c.seq_len = plan.seq_len;
  c.seed = plan.seed;
  c.epoch = epoch;
  c.next_sequence = next_sequence;
  return c;
}

std::string StreamCursor::ToString() const {
  // StrCat, not StrFormat: a served batch carries its cursor, and this takes half the time.
  return absl::StrCat("ss2.", absl::Hex(dataset_version, absl::kZeroPad8), ".",
                      absl::Hex(tokenizer, absl::kZeroPad8), ".",
                      absl::Hex(filters, absl::kZeroPad8), ".", absl::Hex(mixture, absl::kZeroPad8),
                      ".", seq_len, ".", seed, ".", epoch, ".", next_sequence);
}

absl::StatusOr<StreamCursor> StreamCursor::Parse(std::string_view text) {
  auto bad = [&text](std::string_view why) {
    // Long input is cut, so an error never carries a whole pasted blob.
    const std::string shown = text.size() > 80 ? std::string(text.substr(0, 80)) + "..."
                                               : std::string(text);
    return absl::InvalidArgumentError(
        absl::StrCat("\"", shown, "\" is not a stream cursor (", std::string(why),
                     "); pass a cursor printed by `shardstream stream`, like "
                     "ss2.0e424d33.f9022d5c.5d41402a.00000000.1024.42.0.64"));
  };
  if (text.size() > 256) return bad("too long");
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(text.data(), text.size()), '.');
  if (parts.size() == 8 && parts[0] == "ss1") {
    return bad("a cursor of shardstream 0.1, before partitions and mixtures; restart the stream");
  }
  if (parts.size() != 9 || parts[0] != "ss2") return bad("expected ss2 and 8 dot-separated fields");
  StreamCursor c;
  uint32_t seq_len;
  if (!absl::SimpleHexAtoi(parts[1], &c.dataset_version) ||
      !absl::SimpleHexAtoi(parts[2], &c.tokenizer) || !absl::SimpleHexAtoi(parts[3], &c.filters) ||
      !absl::SimpleHexAtoi(parts[4], &c.mixture)) {
    return bad("a fingerprint is not hex");
  }
  if (!absl::SimpleAtoi(parts[5], &seq_len) || !absl::SimpleAtoi(parts[6], &c.seed) ||
      !absl::SimpleAtoi(parts[7], &c.epoch) || !absl::SimpleAtoi(parts[8], &c.next_sequence)) {
    return bad("a number is malformed");
  }
  c.seq_len = seq_len;
  return c;
}

absl::Status StreamCursor::CheckBelongsTo(const PlanIdentity& plan) const {
  const StreamCursor mine = At(plan, epoch, next_sequence);
  std::vector<std::string> differ;
  if (dataset_version != mine.dataset_version) {
    differ.push_back(absl::StrFormat("data version %08x (this stream: %08x)", dataset_version,
                                     mine.dataset_version));
  }
  if (tokenizer != mine.tokenizer) {
    differ.push_back(
        absl::StrFormat("tokenizer %08x (this stream: %08x)", tokenizer, mine.tokenizer));
  }
  if (filters != mine.filters) {
    differ.push_back(absl::StrFormat("filters %08x (this stream: %08x)", filters, mine.filters));
  }
  if (mixture != mine.mixture) {
    differ.push_back(absl::StrFormat("mixture %08x (this stream: %08x)", mixture, mine.mixture));
  }
  if (seq_len != mine.seq_len) {
    differ.push_back(absl::StrFormat("seq_len %d (this stream: %d)", seq_len, mine.seq_len));
  }
  if (seed != mine.seed) {
    differ.push_back(absl::StrFormat("seed %d (this stream: %d)", seed, mine.seed));
  }
  if (differ.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("the cursor belongs to another plan: its ", absl::StrJoin(differ, ", "),
                   "; resume with the same data, tokenizer, filters, mixture, seq_len and seed"));
}

}  // namespace shardstream
