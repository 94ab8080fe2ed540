// tokenizer.json's "normalizer": what Hugging Face tokenizers does to text before it is split
// into pieces (and to the content of added tokens marked "normalized"). Supported: NFC, NFD,
// NFKC, NFKD (ICU), Lowercase, Strip, StripAccents, Replace (String or Regex), Prepend and
// Sequence of these; anything else is refused by name.
//
//   ASSIGN_OR_RETURN(Normalizer n, Normalizer::FromJson(root["normalizer"]));
//   std::string normalized;
//   n.Normalize(text, &normalized);
#ifndef SHARDSTREAM_COMMON_NORMALIZER_H_
#define SHARDSTREAM_COMMON_NORMALIZER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unicode_regex.h"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace shardstream {

// Immutable; thread-safe.
class Normalizer {
 public:
  // The identity (tokenizer.json's null normalizer).
  Normalizer() = default;
  // From the "normalizer" element; null or an empty Sequence is the identity. INVALID_ARGUMENT
  // names an unsupported normalizer ("unsupported tokenizer: normalizer BertNormalizer").
  static absl::StatusOr<Normalizer> FromJson(const simdjson::dom::element& element);

  bool is_identity() const { return steps_.empty(); }
  // Replaces *out with `text` (valid UTF-8) normalized.
  void Normalize(std::string_view text, std::string* out) const;
  // A canonical description of the steps ("NFC", "Replace(\" \",\"▁\")" ...): part of the
  // tokenizer's fingerprint, and shown by Describe().
  std::string Describe() const;

 private:
  enum class Kind {
    kNfc,
    kNfd,
    kNfkc,
    kNfkd,
    kLowercase,
    kStrip,
    kStripAccents,
    kReplace,
    kPrepend
  };
  struct Step {
    Kind kind;
    bool left = false, right = false;     // Strip
    std::optional<UnicodeRegex> pattern;  // Replace
    std::string content;                  // Replace, Prepend
  };
  static absl::Status Parse(const simdjson::dom::element& element, std::vector<Step>* steps);
  static void Apply(const Step& step, std::string_view in, std::string* out);

  std::vector<Step> steps_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_NORMALIZER_H_
