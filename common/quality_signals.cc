#include "common/quality_signals.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace shardstream {

namespace {

// Line accounting shared by the fast and the exact path.
struct LineTally {
  uint64_t lines = 0, line_chars_total = 0, max_line_chars = 0, newlines = 0, code_points = 0;
  size_t scan_end = SIZE_MAX;  // end of the first kScanLines lines

  void EndLine(uint64_t chars, size_t break_pos, int scan_lines) {
    ++lines;
    line_chars_total += chars;
    max_line_chars = std::max(max_line_chars, chars);
    if (lines == static_cast<uint64_t>(scan_lines)) scan_end = break_pos;
  }
};

// Byte counts of a range, in a loop the compiler vectorizes: continuation bytes, ASCII
// alphanumerics, '=' and whether any byte may start a line break other than '\n'.
struct RangeCounts {
  uint64_t continuation = 0, alnum = 0, equals = 0;
  bool other_breaks = false;
};

// Compiled for AVX2 and for baseline x86-64; the loader picks what the CPU has. Not under
// ThreadSanitizer: clang instruments the ifunc resolver, which the loader runs before TSan is
// initialized (the binary crashes at start).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHARDSTREAM_NO_IFUNC
#endif
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SHARDSTREAM_NO_IFUNC)
#define SHARDSTREAM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SHARDSTREAM_VECTOR_CLONES
#endif

SHARDSTREAM_VECTOR_CLONES
RangeCounts CountRange(const uint8_t* p, size_t n) {
  RangeCounts out;
  // 32-bit block sums vectorize well; blocks keep them from overflowing.
  constexpr size_t kBlock = size_t{1} << 24;
  for (size_t start = 0; start < n; start += kBlock) {
    const size_t end = std::min(n, start + kBlock);
    uint32_t cont = 0, alnum = 0, eq = 0, rare = 0;
    for (size_t i = start; i < end; ++i) {
      const uint8_t b = p[i];
      cont += (b & 0xC0) == 0x80;
      alnum += static_cast<uint8_t>((b | 0x20) - 'a') < 26 || static_cast<uint8_t>(b - '0') < 10;
      eq += b == '=';
      rare |= static_cast<uint8_t>(b - 0x0b) < 3 || static_cast<uint8_t>(b - 0x1c) < 3 ||
              b == 0xC2 || b == 0xE2;
    }
    out.continuation += cont;
    out.alnum += alnum;
    out.equals += eq;
    out.other_breaks = out.other_breaks || rare != 0;
  }
  return out;
}

SHARDSTREAM_VECTOR_CLONES
void AsciiLower(const uint8_t* __restrict src, uint8_t* __restrict dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = src[i];
    dst[i] = static_cast<uint8_t>(b + (static_cast<uint8_t>(b - 'A') < 26 ? 32 : 0));
  }
}

// The exact path for a range that may hold breaks other than '\n' (\r, \r\n, \v, \f,
// \x1c-\x1e, U+0085, U+2028, U+2029). Returns the characters of the line still open at its end.
uint64_t TallyRangeExactly(const uint8_t* p, size_t begin, size_t end, uint64_t line_chars,
                           int scan_lines, LineTally* t) {
  for (size_t i = begin; i < end; ++i) {
    const uint8_t b = p[i];
    size_t break_bytes = 0;
    if (b == '\n' || b == 0x0b || b == 0x0c || (b >= 0x1c && b <= 0x1e)) {
      break_bytes = 1;
    } else if (b == '\r') {
      break_bytes = (i + 1 < end && p[i + 1] == '\n') ? 2 : 1;
    } else if (b == 0xC2) {
      break_bytes = (i + 1 < end && p[i + 1] == 0x85) ? 2 : 0;
    } else if (b == 0xE2) {
      break_bytes =
          (i + 2 < end && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) ? 3 : 0;
    }
    if (break_bytes > 0) {
      t->EndLine(line_chars, i, scan_lines);
      line_chars = 0;
      const bool crlf = b == '\r' && break_bytes == 2;
      t->code_points += crlf ? 2 : 1;
      t->newlines += (b == '\n' || crlf) ? 1 : 0;
      i += break_bytes - 1;
      continue;
    }
    if ((b & 0xC0) != 0x80) {
      ++line_chars;
      ++t->code_points;
    }
  }
  return line_chars;
}

// Non-overlapping occurrences of `needle`, like str.count(), but stops counting past `limit`.
size_t CountNonOverlapping(std::string_view haystack, std::string_view needle, size_t limit) {
  size_t count = 0;
  for (const char* at = haystack.data(); count <= limit;) {
    const size_t left = haystack.data() + haystack.size() - at;
    const void* hit = ::memmem(at, left, needle.data(), needle.size());
    if (hit == nullptr) return count;
    ++count;
    at = static_cast<const char*>(hit) + needle.size();
  }
  return count;
}

bool ContainsAnyOf(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  for (std::string_view needle : needles) {
    if (::memmem(haystack.data(), haystack.size(), needle.data(), needle.size()) != nullptr) {
      return true;
    }
  }
  return false;
}

}  // namespace

void QualitySignalComputer::Compute(std::string_view text, v1::QualitySignals* out) {
  out->Clear();
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();

  // Lines are those of Python's str.splitlines(). Byte counts come from one vectorized pass.
  // A document that is ASCII without other break characters than '\n' (most code) then only
  // needs the '\n' positions; otherwise each line is counted on its own: a line ended by '\n'
  // with no other break character takes the vectorized count, any other line the exact path.
  LineTally t;
  const RangeCounts whole = CountRange(p, n);
  const bool simple = !whole.other_breaks && whole.continuation == 0;
  for (size_t begin = 0; begin < n;) {
    const void* nl = std::memchr(p + begin, '\n', n - begin);
    const size_t end = nl ? static_cast<const uint8_t*>(nl) - p : n;  // the line's '\n' or n
    const RangeCounts line = simple ? RangeCounts{} : CountRange(p + begin, end - begin);
    if (!line.other_breaks) {
      const uint64_t chars = (end - begin) - line.continuation;
      t.code_points += chars;
      t.EndLine(chars, end, kScanLines);
      if (nl) {
        ++t.code_points;
        ++t.newlines;
      }
    } else {
      uint64_t open = TallyRangeExactly(p, begin, nl ? end + 1 : n, 0, kScanLines, &t);
      if (open > 0) t.EndLine(open, n, kScanLines);  // an unterminated last line
    }
    begin = nl ? end + 1 : n;
  }
  const uint64_t alnum = whole.alnum, equals = whole.equals;

  out->set_num_lines(t.lines);
  out->set_max_line_chars(t.max_line_chars);
  out->set_line_chars_total(t.line_chars_total);
  out->set_code_points(t.code_points);
  out->set_alnum_chars(alnum);
  out->set_few_assignments(equals <= kFewAssignments);

  // Keyword checks on an ASCII-lowercased copy (the keywords are ASCII). No keyword contains a
  // line break, so searching the whole text equals CodeParrot's line-by-line search; counts do
  // not overlap, like str.count().
  lower_.resize(n);
  AsciiLower(p, reinterpret_cast<uint8_t*>(lower_.data()), n);
  const std::string_view lower(lower_);
  const std::string_view head = lower.substr(0, std::min(t.scan_end, n));
  out->set_no_keywords(!ContainsAnyOf(lower, {"def ", "class ", "for ", "while "}));
  out->set_autogenerated(
      ContainsAnyOf(head, {"auto-generated", "autogenerated", "automatically generated"}));
  const uint64_t threshold = static_cast<uint64_t>(kConfigTestPerLine * t.newlines);
  out->set_config_or_test(ContainsAnyOf(head, {"unit tests", "test file", "configuration file"}) ||
                          CountNonOverlapping(lower, "test", threshold) > threshold ||
                          CountNonOverlapping(lower, "config", threshold) > threshold);
}

}  // namespace shardstream
