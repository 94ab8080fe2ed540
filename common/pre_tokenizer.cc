#include "common/pre_tokenizer.h"

#include <array>
#include <cstdint>

#include "common/unicode_classes.h"

namespace shardstream {
namespace {

constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kCl100kRegex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr std::array<CharClass, 128> MakeAsciiClasses() {
  std::array<CharClass, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t[c] = CharClass::kLetter;
    } else if (c >= '0' && c <= '9') {
      t[c] = CharClass::kNumber;
    } else if ((c >= 0x09 && c <= 0x0D) || c == ' ') {
      t[c] = CharClass::kSpace;
    } else {
      t[c] = CharClass::kOther;
    }
  }
  return t;
}
constexpr std::array<CharClass, 128> kAsciiClasses = MakeAsciiClasses();

// One decoded character: its code point, class and UTF-8 length.
struct Char {
  char32_t cp = 0;
  CharClass cls = CharClass::kOther;
  uint8_t len = 0;  // 0: past the end
};

// Walks a valid UTF-8 string by characters.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  size_t size() const { return text_.size(); }

  // The character at byte offset `i` (len 0 when i is at the end).
  Char At(size_t i) const {
    Char c;
    if (i >= text_.size()) return c;
    const auto b = static_cast<uint8_t>(text_[i]);
    if (b < 0x80) {
      c.cp = b;
      c.cls = kAsciiClasses[b];
      c.len = 1;
      return c;
    }
    size_t len = DecodeUtf8(text_.substr(i), &c.cp);
    if (len == 0) {  // not UTF-8: callers validate first; treat the byte as a symbol
      c.cp = 0xFFFD;
      len = 1;
    }
    c.len = static_cast<uint8_t>(len);
    c.cls = ClassOf(c.cp);
    return c;
  }

  // End of the run of characters of class `cls` starting at `i`.
  size_t RunEnd(size_t i, CharClass cls) const {
    while (i < text_.size()) {
      Char c = At(i);
      if (c.cls != cls) break;
      i += c.len;
    }
    return i;
  }

  // End of a run of at most `max` characters of class `cls` starting at `i`.
  size_t RunEnd(size_t i, CharClass cls, int max) const {
    for (int k = 0; k < max && i < text_.size(); ++k) {
      Char c = At(i);
      if (c.cls != cls) break;
      i += c.len;
    }
    return i;
  }

 private:
  std::string_view text_;
};

inline bool IsCrLf(char32_t cp) { return cp == '\r' || cp == '\n'; }

// Length of a contraction ('s 't 're 've 'm 'll 'd) at `i`, or 0. Case-insensitive matching
// uses Unicode simple case folding, under which U+017F LATIN SMALL LETTER LONG S is an 's'.
size_t Contraction(const Cursor& cur, size_t i, bool ignore_case) {
  Char apostrophe = cur.At(i);
  if (apostrophe.cp != '\'') return 0;
  auto fold = [ignore_case](char32_t cp) -> char32_t {
    if (!ignore_case) return cp;
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    if (cp == 0x17F) return 's';
    return cp;
  };
  Char a = cur.At(i + 1);
  if (a.len == 0) return 0;
  const char32_t fa = fold(a.cp);
  if (fa == 's' || fa == 't' || fa == 'm' || fa == 'd') return 1 + a.len;
  Char b = cur.At(i + 1 + a.len);
  if (b.len == 0) return 0;
  const char32_t fb = fold(b.cp);
  if ((fa == 'r' && fb == 'e') || (fa == 'v' && fb == 'e') || (fa == 'l' && fb == 'l')) {
    return 1 + a.len + b.len;
  }
  return 0;
}

// \s+(?!\S) then \s+ for the whitespace run starting at `i` and ending at `run_end`.
size_t WhitespaceEnd(const Cursor& cur, size_t i, size_t run_end) {
  if (run_end == cur.size()) return run_end;  // nothing follows: take it all
  // Followed by non-space: leave the last whitespace character for the next piece, unless the
  // run is a single character (then \s+ takes it).
  size_t last = i, k = i;
  while (k < run_end) {
    last = k;
    k += cur.At(k).len;
  }
  return last > i ? last : run_end;
}

size_t NextGpt2(const Cursor& cur, size_t i) {
  if (size_t n = Contraction(cur, i, /*ignore_case=*/false)) return i + n;
  Char c0 = cur.At(i);
  size_t start = i;
  CharClass cls = c0.cls;
  if (c0.cp == ' ') {
    Char c1 = cur.At(i + 1);
    if (c1.len > 0 && c1.cls != CharClass::kSpace) {
      start = i + 1;  // " ?X+": the space joins the run that follows
      cls = c1.cls;
    }
  }
  if (start != i || cls != CharClass::kSpace) return cur.RunEnd(start, cls);
  return WhitespaceEnd(cur, i, cur.RunEnd(i, CharClass::kSpace));
}

// `max_digits`: 3 for cl100k's \p{N}{1,3}, 1 for Qwen2's \p{N}.
size_t NextCl100k(const Cursor& cur, size_t i, int max_digits) {
  if (size_t n = Contraction(cur, i, /*ignore_case=*/true)) return i + n;
  Char c0 = cur.At(i);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c0.cls == CharClass::kLetter) return cur.RunEnd(i, CharClass::kLetter);
  if (!IsCrLf(c0.cp) && c0.cls != CharClass::kNumber) {
    Char c1 = cur.At(i + c0.len);
    if (c1.cls == CharClass::kLetter && c1.len > 0) {
      return cur.RunEnd(i + c0.len, CharClass::kLetter);
    }
  }
  // \p{N}{1,3} or \p{N}
  if (c0.cls == CharClass::kNumber) return cur.RunEnd(i, CharClass::kNumber, max_digits);
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t other_start = std::string_view::npos;
  if (c0.cls == CharClass::kOther) {
    other_start = i;
  } else if (c0.cp == ' ' && cur.At(i + 1).cls == CharClass::kOther && cur.At(i + 1).len > 0) {
    other_start = i + 1;
  }
  if (other_start != std::string_view::npos) {
    size_t end = cur.RunEnd(other_start, CharClass::kOther);
    while (end < cur.size() && IsCrLf(cur.At(end).cp)) ++end;
    return end;
  }
  // c0 is whitespace. \s*[\r\n]+ : up to and including the run's last \r or \n.
  const size_t run_end = cur.RunEnd(i, CharClass::kSpace);
  size_t after_last_newline = 0;
  for (size_t k = i; k < run_end;) {
    Char c = cur.At(k);
    k += c.len;
    if (IsCrLf(c.cp)) after_last_newline = k;
  }
  if (after_last_newline > 0) return after_last_newline;
  // \s+(?!\S) | \s+
  return WhitespaceEnd(cur, i, run_end);
}

}  // namespace

std::string_view SplitPatternRegex(SplitPattern pattern) {
  switch (pattern) {
    case SplitPattern::kGpt2:
      return kGpt2Regex;
    case SplitPattern::kCl100k:
      return kCl100kRegex;
    case SplitPattern::kQwen2:
      return kQwen2Regex;
  }
  return kGpt2Regex;
}

std::optional<SplitPattern> SplitPatternFromRegex(std::string_view regex) {
  if (regex == kGpt2Regex) return SplitPattern::kGpt2;
  if (regex == kCl100kRegex) return SplitPattern::kCl100k;
  if (regex == kQwen2Regex) return SplitPattern::kQwen2;
  return std::nullopt;
}

void PreTokenize(SplitPattern pattern, std::string_view text,
                 std::vector<std::string_view>* pieces) {
  Cursor cur(text);
  for (size_t i = 0; i < text.size();) {
    size_t end = pattern == SplitPattern::kGpt2     ? NextGpt2(cur, i)
                 : pattern == SplitPattern::kCl100k ? NextCl100k(cur, i, 3)
                                                    : NextCl100k(cur, i, 1);
    if (end <= i) end = i + cur.At(i).len;  // cannot happen with these patterns; stay safe
    pieces->push_back(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace shardstream
