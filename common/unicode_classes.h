// Unicode character classes as the regexes of Hugging Face tokenizers' pre-tokenizers see them
// (\p{L}, \p{N}, \s), and UTF-8 decoding. The class data is generated from the reference
// implementation itself (tools/reference/unicode_classes.js), so ids agree on every code point.
#ifndef SHARDSTREAM_COMMON_UNICODE_CLASSES_H_
#define SHARDSTREAM_COMMON_UNICODE_CLASSES_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace shardstream {

enum class CharClass : uint8_t {
  kOther = 0,   // none of the below: punctuation, symbols, marks, controls, ...
  kLetter = 1,  // \p{L}
  kNumber = 2,  // \p{N}
  kSpace = 3,   // \s
};

struct CodePointRange {
  char32_t first;
  char32_t last;  // inclusive
};

// Class of a code point (0..0x10FFFF). O(1): two table lookups. Thread-safe.
CharClass ClassOf(char32_t code_point);

// Ranges of a property as Hugging Face tokenizers sees it, probed from it by
// tools/reference/unicode_properties.js (common/unicode_property_ranges.inc): a general category
// of its regexes ("Lu", "L", "Cn" ...), an escape ("s", "w", "d"), or a predicate of its Rust
// code: "rust-numeric" (char::is_numeric), "rust-punctuation", "rust-whitespace"
// (char::is_whitespace, the regex crate's \s) and "rust-word" (the regex crate's \w). Sorted,
// disjoint; empty for an unknown name.
std::span<const CodePointRange> ProbedRanges(std::string_view name);
bool InRanges(std::span<const CodePointRange> ranges, char32_t code_point);

// The Rust predicates, for the pre-tokenizers and added-token rules written in Rust.
bool IsWhiteSpace(char32_t code_point);
bool IsRegexWordChar(char32_t code_point);
bool IsRustNumeric(char32_t code_point);
bool IsRustPunctuation(char32_t code_point);

// Decodes the UTF-8 character that ends `s` (valid UTF-8, non-empty); returns its length.
size_t DecodeLastUtf8(std::string_view s, char32_t* code_point);
// Where the whitespace (IsWhiteSpace) at the start of `s` ends / at the end of `s` starts.
size_t LeadingWhiteSpaceEnd(std::string_view s);
size_t TrailingWhiteSpaceStart(std::string_view s);

// Decodes the UTF-8 character at the start of `s` (non-empty). Returns its length in bytes, or 0
// when `s` does not start with a valid UTF-8 sequence (overlong, surrogate, > U+10FFFF,
// truncated or stray continuation byte).
size_t DecodeUtf8(std::string_view s, char32_t* code_point);

// Offset of the first byte of `s` that is not part of valid UTF-8, or npos when all of it is.
size_t FindInvalidUtf8(std::string_view s);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_UNICODE_CLASSES_H_
