#include "common/unicode_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

struct NamedRanges {
  const char* name;
  const CodePointRange* ranges;
  size_t count;
};
#include "common/pcre2_property_fixes.inc"

// What Hugging Face adds to PCRE2's own \p{name}, when PCRE2's set lies within Hugging Face's
// and this PCRE2 has the Unicode tables the fixes were computed for; else nullopt.
std::optional<std::span<const CodePointRange>> Pcre2Extra(std::string_view name) {
  static const bool same_tables = [] {
    char version[64] = {};
    pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, version);
    return kPcre2FixesUnicodeVersion == version;
  }();
  if (!same_tables) return std::nullopt;
  for (const NamedRanges& f : kPcre2Fixes) {
    if (name == f.name) return std::span<const CodePointRange>(f.ranges, f.count);
  }
  return std::nullopt;
}

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr char32_t kMaxCodePoint = 0x10FFFF;

std::optional<std::vector<CodePointRange>> PropertyRanges(std::string_view name) {
  if (name.substr(0, 5) == "rust-") return std::nullopt;  // not regex escapes
  std::span<const CodePointRange> r = ProbedRanges(name);
  if (r.empty()) return std::nullopt;
  return std::vector<CodePointRange>(r.begin(), r.end());
}

std::vector<CodePointRange> Complement(const std::vector<CodePointRange>& ranges) {
  std::vector<CodePointRange> out;
  char32_t next = 0;
  for (const CodePointRange& r : ranges) {
    if (r.first > next) out.push_back({next, r.first - 1});
    next = r.last + 1;
  }
  if (next <= kMaxCodePoint) out.push_back({next, kMaxCodePoint});
  return out;
}

// Class-body text for `ranges` (no brackets); surrogates, which PCRE2 refuses in UTF mode and
// which never occur in UTF-8, are left out.
std::string ClassBody(const std::vector<CodePointRange>& ranges) {
  std::string out;
  auto emit = [&out](char32_t a, char32_t b) {
    if (a == b) {
      absl::StrAppendFormat(&out, "\\x{%X}", static_cast<uint32_t>(a));
    } else {
      absl::StrAppendFormat(&out, "\\x{%X}-\\x{%X}", static_cast<uint32_t>(a),
                            static_cast<uint32_t>(b));
    }
  };
  for (const CodePointRange& r : ranges) {
    if (r.last < 0xD800 || r.first > 0xDFFF) {
      emit(r.first, r.last);
      continue;
    }
    if (r.first < 0xD800) emit(r.first, 0xD7FF);
    if (r.last > 0xDFFF) emit(0xE000, r.last);
  }
  return out;
}

// The ranges an escape at pattern[i] (just after the backslash) stands for, and its length; or
// nullopt when it is not one of the table-driven escapes.
struct Escape {
  std::vector<CodePointRange> ranges;
  size_t length;  // characters after the backslash
  // Set when the escape can be PCRE2's own \p{native} plus `ranges` (faster than all ranges).
  std::string native;
};
std::optional<Escape> TableEscape(std::string_view pattern, size_t i) {
  const char c = pattern[i];
  auto simple = [](const char* name, bool negate) {
    std::vector<CodePointRange> r = *PropertyRanges(name);
    return negate ? Complement(r) : r;
  };
  switch (c) {
    case 's':
    case 'S':
      return Escape{simple("s", c == 'S'), 1, ""};
    case 'w':
    case 'W':
      return Escape{simple("w", c == 'W'), 1, ""};
    case 'd':
    case 'D':
      return Escape{simple("d", c == 'D'), 1, ""};
    case 'h':
    case 'H': {  // Oniguruma: a hexadecimal digit
      std::vector<CodePointRange> hex = {{'0', '9'}, {'A', 'F'}, {'a', 'f'}};
      return Escape{c == 'H' ? Complement(hex) : hex, 1, ""};
    }
    case 'p':
    case 'P':
      break;
    default:
      return std::nullopt;
  }
  bool negate = c == 'P';
  std::string_view name;
  size_t length;
  if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
    size_t close = pattern.find('}', i + 2);
    if (close == std::string_view::npos) return std::nullopt;
    name = pattern.substr(i + 2, close - i - 2);
    length = close - i + 1;
    if (!name.empty() && name[0] == '^') {
      negate = !negate;
      name.remove_prefix(1);
    }
  } else if (i + 1 < pattern.size()) {
    name = pattern.substr(i + 1, 1);
    length = 2;
  } else {
    return std::nullopt;
  }
  std::optional<std::vector<CodePointRange>> ranges;
  if (name != "s" && name != "w" && name != "d") ranges = PropertyRanges(name);
  if (!ranges.has_value()) return std::nullopt;  // a script or other property: PCRE2's own
  if (!negate) {
    if (std::optional<std::span<const CodePointRange>> extra = Pcre2Extra(name)) {
      return Escape{std::vector<CodePointRange>(extra->begin(), extra->end()), length,
                    std::string(name)};
    }
  }
  return Escape{negate ? Complement(*ranges) : *ranges, length, ""};
}

}  // namespace

struct UnicodeRegex::Code {
  pcre2_code* code = nullptr;
  ~Code() { pcre2_code_free(code); }
};

absl::StatusOr<std::string> UnicodeRegex::TranslateForPcre2(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  size_t class_start = 0;  // offset just after "[" or "[^"
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      if (std::optional<Escape> e = TableEscape(pattern, i + 1)) {
        // Inside a class the ranges join it; outside they become a class of their own. A
        // negated escape inside a class is its complement's ranges, which keeps the union.
        std::string body = ClassBody(e->ranges);
        if (!e->native.empty()) body = absl::StrCat("\\p{", e->native, "}", body);
        out += in_class ? body : absl::StrCat("[", body, "]");
        i += e->length;
        continue;
      }
      out.push_back(c);
      out.push_back(pattern[++i]);
      continue;
    }
    if (in_class) {
      if (c == ']' && i > class_start) {
        in_class = false;
      } else if (c == '[') {
        if (pattern.substr(i, 2) == "[:") {  // POSIX class: copied through to its ":]"
          size_t close = pattern.find(":]", i + 2);
          if (close == std::string_view::npos) {
            return absl::InvalidArgumentError("regex: unterminated [: in a class");
          }
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 1;
          continue;
        }
        return absl::InvalidArgumentError(
            absl::StrCat("regex \"", AsAbsl(pattern),
                         "\": a class nested in a class (Oniguruma syntax that "
                         "PCRE2 reads differently) is not supported"));
      } else if (c == '&' && i + 1 < pattern.size() && pattern[i + 1] == '&') {
        return absl::InvalidArgumentError(absl::StrCat(
            "regex \"", AsAbsl(pattern), "\": class intersection (&&) is not supported"));
      }
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      class_start = i + 1;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') {
        out.push_back('^');
        ++i;
        class_start = i + 1;
      }
      continue;
    }
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<UnicodeRegex> UnicodeRegex::Compile(std::string_view pattern) {
  std::string translated;
  {
    absl::StatusOr<std::string> t = TranslateForPcre2(pattern);
    if (!t.ok()) return t.status();
    translated = *std::move(t);
  }
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return absl::InvalidArgumentError(
        absl::StrCat("regex \"", AsAbsl(pattern),
                     "\" does not compile: ", reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if unavailable
  UnicodeRegex re;
  re.pattern_ = std::string(pattern);
  auto holder = std::make_shared<Code>();
  holder->code = code;
  re.code_ = std::move(holder);
  return re;
}

absl::StatusOr<UnicodeRegex> UnicodeRegex::Literal(std::string_view text) {
  std::string quoted;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}-/#& ").find(c) != std::string_view::npos) {
      quoted.push_back('\\');
    }
    quoted.push_back(c);
  }
  absl::StatusOr<UnicodeRegex> re = Compile(quoted);
  if (re.ok()) {
    re->pattern_ = std::string(text);
    re->literal_ = true;
  }
  return re;
}

namespace {

// Per-thread match state: match data for any pattern (only the whole match is read) and a JIT
// stack that grows to 8 MiB, so long runs of whitespace or backtracking do not fail.
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(64 << 10, 8 << 20, nullptr);
  MatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

}  // namespace

void UnicodeRegex::FindAll(std::string_view text, std::vector<Match>* matches) const {
  if (literal_ && !pattern_.empty()) {  // a plain search finds the same non-overlapping matches
    for (size_t i = text.find(pattern_); i != std::string_view::npos;
         i = text.find(pattern_, i + pattern_.size())) {
      matches->push_back({i, i + pattern_.size()});
    }
    return;
  }
  thread_local MatchState state;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  // Oniguruma's iteration (the onig crate's find_iter, which Hugging Face uses): an empty match
  // right where the previous match ended is skipped by searching again one character later.
  size_t start = 0;
  std::optional<size_t> last_end;
  while (start <= text.size()) {
    int rc = pcre2_match(code_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, state.data,
                         state.context);
    if (rc < 0) break;  // no match (or a resource limit: the rest is unmatched)
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
    const size_t begin = ovector[0], end = ovector[1];
    if (begin == end && last_end == end) {
      if (start >= text.size()) break;
      char32_t cp;
      start += std::max<size_t>(DecodeUtf8(text.substr(start), &cp), 1);
      continue;
    }
    matches->push_back({begin, end});
    start = end;
    last_end = end;
  }
}

void UnicodeRegex::ReplaceAll(std::string_view text, std::string_view content,
                              std::string* out) const {
  std::vector<Match> matches;
  FindAll(text, &matches);
  size_t last = 0;
  for (const Match& m : matches) {
    out->append(text.substr(last, m.begin - last));
    out->append(content);
    last = m.end;
  }
  out->append(text.substr(last));
}

}  // namespace shardstream
