// tokenizer.json's "pre_tokenizer": how normalized text is split into the pieces BPE encodes one
// by one, with Hugging Face tokenizers' semantics. Supported: Split (String or any Regex, every
// behavior, invert), ByteLevel (add_prefix_space, use_regex; last in a Sequence), Metaspace
// (replacement, prepend_scheme always/first/never, split), Digits, Punctuation, Whitespace,
// WhitespaceSplit, CharDelimiterSplit, BertPreTokenizer and Sequence of these.
//
// A Split whose regex is one of the hand-written scanners of common/pre_tokenizer.h (GPT-2,
// cl100k, Qwen2) runs that scanner instead of the regex engine; a sequence that is only such a
// scanner and ByteLevel is exposed as simple() so the encoder can keep pieces as views.
#ifndef SHARDSTREAM_COMMON_PRE_TOKENIZER_SEQUENCE_H_
#define SHARDSTREAM_COMMON_PRE_TOKENIZER_SEQUENCE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pre_tokenizer.h"
#include "common/unicode_regex.h"

namespace simdjson::dom {
class element;
}  // namespace simdjson::dom

namespace shardstream {

// What happens to the matches of a Split (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Immutable; thread-safe.
class PreTokenizerSequence {
 public:
  // The whole text is one piece (tokenizer.json's null pre_tokenizer).
  PreTokenizerSequence() = default;
  // INVALID_ARGUMENT names what is not supported ("unsupported tokenizer: pre_tokenizer
  // UnicodeScripts").
  static absl::StatusOr<PreTokenizerSequence> FromJson(const simdjson::dom::element& element);

  // Whether the sequence ends in ByteLevel: pieces are then encoded byte by byte, and the
  // vocabulary is byte-level.
  bool byte_level() const { return byte_level_; }

  // The sequence as a scanner and a prefix space, when it is no more than that:
  // [ByteLevel(use_regex)], [Split(scanner regex, Isolated), ByteLevel(no prefix, no regex)],
  // [Split(scanner regex, Isolated)] or nothing.
  struct Simple {
    std::optional<SplitPattern> pattern;  // nullopt: the whole text is one piece
    bool add_prefix_space = false;
  };
  const std::optional<Simple>& simple() const { return simple_; }

  // Replaces *pieces with the pieces of `text` (valid UTF-8, normalized). `at_origin`: the text
  // starts the input (Metaspace's prepend_scheme "first" prepends only there).
  void Run(std::string_view text, bool at_origin, std::vector<std::string>* pieces) const;

  // A canonical description for the fingerprint and Describe().
  std::string Describe() const;

 private:
  enum class Kind {
    kSplit,
    kScanner,
    kByteLevel,
    kMetaspace,
    kDigits,
    kPunctuation,
    kWhitespace,
    kWhitespaceSplit,
    kCharDelimiter,
    kBert
  };
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    Kind kind = Kind::kSplit;
    std::optional<UnicodeRegex> regex;           // kSplit
    SplitPattern pattern = SplitPattern::kGpt2;  // kScanner; kByteLevel with use_regex
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false, use_regex = false;  // kByteLevel
    std::string replacement;                           // kMetaspace (one character), kCharDelimiter
    char32_t replacement_code_point = 0;
    Prepend prepend = Prepend::kAlways;
    bool split = true;               // kMetaspace
    bool individual_digits = false;  // kDigits
  };
  struct Piece {
    std::string text;
    bool at_origin;
  };
  static absl::Status Parse(const simdjson::dom::element& element, std::vector<Step>* steps);
  static void Apply(const Step& step, Piece piece, std::vector<Piece>* out);

  std::vector<Step> steps_;
  bool byte_level_ = false;
  std::optional<Simple> simple_ = Simple{};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PRE_TOKENIZER_SEQUENCE_H_
