// Unicode character classes as the regexes of Hugging Face tokenizers' pre-tokenizers see them
// (\p{L}, \p{N}, \s), and UTF-8 decoding. The class data is generated from the reference
// implementation itself (tools/reference/unicode_classes.js), so ids agree on every code point.
#ifndef SHARDSTREAM_COMMON_UNICODE_CLASSES_H_
#define SHARDSTREAM_COMMON_UNICODE_CLASSES_H_

#include <cstddef>
#include <cstdint>
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

// Decodes the UTF-8 character at the start of `s` (non-empty). Returns its length in bytes, or 0
// when `s` does not start with a valid UTF-8 sequence (overlong, surrogate, > U+10FFFF,
// truncated or stray continuation byte).
size_t DecodeUtf8(std::string_view s, char32_t* code_point);

// Offset of the first byte of `s` that is not part of valid UTF-8, or npos when all of it is.
size_t FindInvalidUtf8(std::string_view s);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_UNICODE_CLASSES_H_
