// tokenizer.json's "decoder": how the strings of a sequence of tokens become text, with Hugging
// Face tokenizers' semantics. Supported: ByteLevel, ByteFallback, Fuse, Replace, Strip,
// Metaspace and Sequence of these; others are refused by name.
#ifndef SHARDSTREAM_COMMON_TOKEN_DECODER_H_
#define SHARDSTREAM_COMMON_TOKEN_DECODER_H_

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
class TokenDecoder {
 public:
  TokenDecoder() = default;  // tokenizer.json's null decoder
  static absl::StatusOr<TokenDecoder> FromJson(const simdjson::dom::element& element);

  // No steps, or ByteLevel alone: a byte-level vocabulary's tokens are then simply their bytes.
  bool is_byte_level_or_null() const;
  bool has_byte_fallback() const;

  // Hugging Face's decode_chain followed by the join of what is left. With no steps the tokens
  // are joined with nothing between them (Hugging Face puts spaces; see docs/tokenizer.md).
  std::string Decode(std::vector<std::string> tokens) const;

  // The text one token stands for inside a longer text: replacements applied (Metaspace's and
  // Replace's), a byte-fallback token "<0xHH>" as its byte; Strip and the first-token rules of
  // Metaspace do not apply. What Tokenizer::TokenBytes() gives for non-byte-level vocabularies.
  std::string TokenText(std::string_view token) const;

  std::string Describe() const;

 private:
  enum class Kind { kByteLevel, kByteFallback, kFuse, kReplace, kStrip, kMetaspace };
  struct Step {
    Kind kind;
    std::optional<UnicodeRegex> pattern;  // kReplace
    std::string content;                  // kReplace: the replacement; kStrip, kMetaspace: a char
    uint64_t start = 0, stop = 0;         // kStrip
    bool strip_first = true;              // kMetaspace: prepend_scheme != never
  };
  static absl::Status Parse(const simdjson::dom::element& element, std::vector<Step>* steps);
  static void Apply(const Step& step, std::vector<std::string>* tokens);

  std::vector<Step> steps_;
};

// The value of a byte-fallback token "<0xHH>" (upper-case hex digits), or nullopt.
std::optional<uint8_t> ByteFallbackValue(std::string_view token);

// `bytes` as UTF-8 with each maximal invalid subsequence replaced by U+FFFD (Rust's
// String::from_utf8_lossy).
std::string Utf8Lossy(std::string_view bytes);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_TOKEN_DECODER_H_
