// Regular expressions as tokenizer.json means them: the Split pre-tokenizer's and the Replace
// normalizer's / decoder's patterns, which Hugging Face tokenizers runs with Oniguruma. Here
// PCRE2 (JIT) runs them, after the escapes whose meaning depends on Unicode tables are replaced
// by the code point ranges Hugging Face's engine gives them (tools/reference/
// unicode_properties.js): every general category (\p{L}, \p{Lu}, \P{N}, \pM ...), \s, \w, \d
// and their negations, inside and outside classes, so a newer Unicode in the reference cannot
// give other pieces. Oniguruma's \h (a hex digit) is translated too. Other escapes and
// properties (scripts such as \p{Han}) are PCRE2's own.
//
//   absl::StatusOr<UnicodeRegex> re = UnicodeRegex::Compile(R"(\p{N}{1,3})");
//   std::vector<UnicodeRegex::Match> matches;
//   re->FindAll("abc 12345", &matches);  // {4, 7}, {7, 9}
#ifndef SHARDSTREAM_COMMON_UNICODE_REGEX_H_
#define SHARDSTREAM_COMMON_UNICODE_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace shardstream {

// Immutable after compiling; thread-safe (match state is per thread).
class UnicodeRegex {
 public:
  struct Match {
    size_t begin;  // byte offsets into the text
    size_t end;
  };

  // INVALID_ARGUMENT with PCRE2's message and offset when the pattern does not compile, or names
  // the construct when it is Oniguruma syntax PCRE2 would read differently (nested classes,
  // class intersection with &&).
  static absl::StatusOr<UnicodeRegex> Compile(std::string_view pattern);
  // A regex matching `text` literally (tokenizer.json's {"String": ...} patterns).
  static absl::StatusOr<UnicodeRegex> Literal(std::string_view text);

  // Appends the non-overlapping matches in `text` (valid UTF-8), leftmost first. After an empty
  // match the search goes on one character later, as Oniguruma's iteration does.
  void FindAll(std::string_view text, std::vector<Match>* matches) const;

  // Appends `text` to *out with each match (FindAll's) replaced by `content`.
  void ReplaceAll(std::string_view text, std::string_view content, std::string* out) const;

  // The pattern as written in tokenizer.json, and whether it came from Literal().
  const std::string& pattern() const { return pattern_; }
  bool is_literal() const { return literal_; }

  // The PCRE2 pattern `pattern` is translated into (see the file comment). Exposed for tests.
  static absl::StatusOr<std::string> TranslateForPcre2(std::string_view pattern);

 private:
  struct Code;
  std::string pattern_;
  bool literal_ = false;
  std::shared_ptr<const Code> code_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_UNICODE_REGEX_H_
