#include "common/unicode_classes.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

namespace shardstream {
namespace {

#include "common/unicode_class_ranges.inc"

// Two-stage table: block index per 256 code points, then a class per code point of the block.
// Identical blocks are stored once (about 200 distinct blocks of 256 bytes).
class ClassTable {
 public:
  ClassTable() {
    std::vector<uint8_t> flat(0x110000, static_cast<uint8_t>(CharClass::kOther));
    auto fill = [&flat](const auto& ranges, CharClass c) {
      for (const CodePointRange& r : ranges) {
        for (char32_t cp = r.first; cp <= r.last; ++cp) flat[cp] = static_cast<uint8_t>(c);
      }
    };
    fill(kLetterRanges, CharClass::kLetter);
    fill(kNumberRanges, CharClass::kNumber);
    fill(kSpaceRanges, CharClass::kSpace);
    std::map<std::array<uint8_t, 256>, uint16_t> index;
    for (size_t block = 0; block < kBlocks; ++block) {
      std::array<uint8_t, 256> content;
      std::copy_n(flat.begin() + block * 256, 256, content.begin());
      auto [it, inserted] = index.try_emplace(content, static_cast<uint16_t>(blocks_.size()));
      if (inserted) blocks_.push_back(content);
      stage1_[block] = it->second;
    }
  }

  CharClass Get(char32_t cp) const {
    if (cp >= 0x110000) return CharClass::kOther;
    return static_cast<CharClass>(blocks_[stage1_[cp >> 8]][cp & 0xFF]);
  }

 private:
  static constexpr size_t kBlocks = 0x110000 / 256;
  std::array<uint16_t, kBlocks> stage1_;
  std::vector<std::array<uint8_t, 256>> blocks_;
};

const ClassTable& Table() {
  static const ClassTable* table = new ClassTable();  // immutable after construction
  return *table;
}

}  // namespace

CharClass ClassOf(char32_t code_point) { return Table().Get(code_point); }

size_t DecodeUtf8(std::string_view s, char32_t* code_point) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  const uint8_t b0 = p[0];
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  size_t len;
  char32_t cp, min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return len;
}

size_t FindInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII runs, 8 bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= s.size()) break;
    char32_t cp;
    size_t len = DecodeUtf8(s.substr(i), &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

namespace {

struct NamedRanges {
  const char* name;
  const CodePointRange* ranges;
  size_t count;
};
#include "common/unicode_property_ranges.inc"

}  // namespace

std::span<const CodePointRange> ProbedRanges(std::string_view name) {
  for (const NamedRanges& p : kPropertyRanges) {
    if (name == p.name) return {p.ranges, p.count};
  }
  return {};
}

bool InRanges(std::span<const CodePointRange> ranges, char32_t cp) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](char32_t c, const CodePointRange& r) { return c < r.first; });
  return it != ranges.begin() && cp <= std::prev(it)->last;
}

bool IsWhiteSpace(char32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == ' ';
  static const std::span<const CodePointRange> ranges = ProbedRanges("rust-whitespace");
  return InRanges(ranges, cp);
}

bool IsRegexWordChar(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  static const std::span<const CodePointRange> ranges = ProbedRanges("rust-word");
  return InRanges(ranges, cp);
}

bool IsRustNumeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  static const std::span<const CodePointRange> ranges = ProbedRanges("rust-numeric");
  return InRanges(ranges, cp);
}

bool IsRustPunctuation(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
           (cp >= '{' && cp <= '~');
  }
  static const std::span<const CodePointRange> ranges = ProbedRanges("rust-punctuation");
  return InRanges(ranges, cp);
}

size_t DecodeLastUtf8(std::string_view s, char32_t* cp) {
  size_t k = s.size() - 1;
  while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
  DecodeUtf8(s.substr(k), cp);
  return s.size() - k;
}

size_t LeadingWhiteSpaceEnd(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp;
    size_t len = DecodeUtf8(s.substr(i), &cp);
    if (len == 0 || !IsWhiteSpace(cp)) break;
    i += len;
  }
  return i;
}

size_t TrailingWhiteSpaceStart(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    char32_t cp;
    const size_t len = DecodeLastUtf8(s.substr(0, end), &cp);
    if (!IsWhiteSpace(cp)) break;
    end -= len;
  }
  return end;
}

}  // namespace shardstream
