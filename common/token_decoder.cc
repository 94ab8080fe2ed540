#include "common/token_decoder.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tokenizer.h"
#include "common/tokenizer_json.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

using tokenizer_json::TypeOf;
using tokenizer_json::Unsupported;

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

// Length of the longest prefix of `s` that can start a valid UTF-8 sequence (Rust's "maximal
// subpart"), at least 1.
size_t InvalidSubpart(std::string_view s) {
  const auto b0 = static_cast<uint8_t>(s[0]);
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t k = 1;
  for (; k < need && k < s.size(); ++k) {
    const auto b = static_cast<uint8_t>(s[k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
  }
  return k;
}

}  // namespace

std::optional<uint8_t> ByteFallbackValue(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return std::nullopt;
  int value = 0;
  for (char c : token.substr(3, 2)) {
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + digit;
  }
  return static_cast<uint8_t>(value);
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    char32_t cp;
    size_t len = DecodeUtf8(bytes.substr(i), &cp);
    if (len > 0) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out.append(kReplacementChar);
      i += InvalidSubpart(bytes.substr(i));
    }
  }
  return out;
}

absl::Status TokenDecoder::Parse(const simdjson::dom::element& e, std::vector<Step>* steps) {
  const std::string type = TypeOf(e);
  if (type.empty()) return absl::OkStatus();
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(simdjson::dom::array list, tokenizer_json::List(e, "decoders"));
    for (simdjson::dom::element child : list) RETURN_IF_ERROR(Parse(child, steps));
    return absl::OkStatus();
  }
  Step step;
  if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
  } else if (type == "ByteFallback") {
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Kind::kFuse;
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    ASSIGN_OR_RETURN(step.pattern, tokenizer_json::Pattern(e, "pattern"));
    ASSIGN_OR_RETURN(step.content, tokenizer_json::String(e, "content", ""));
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    ASSIGN_OR_RETURN(step.content, tokenizer_json::Character(e, "content", " "));
    ASSIGN_OR_RETURN(step.start, tokenizer_json::Uint(e, "start", 0));
    ASSIGN_OR_RETURN(step.stop, tokenizer_json::Uint(e, "stop", 0));
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    ASSIGN_OR_RETURN(step.content, tokenizer_json::String(e, "replacement", "\xE2\x96\x81"));
    ASSIGN_OR_RETURN(bool add_prefix_space, tokenizer_json::Bool(e, "add_prefix_space", true));
    ASSIGN_OR_RETURN(
        std::string scheme,
        tokenizer_json::String(e, "prepend_scheme", add_prefix_space ? "always" : "never"));
    step.strip_first = scheme != "never";
  } else {
    return Unsupported(absl::StrCat("decoder ", type));
  }
  steps->push_back(std::move(step));
  return absl::OkStatus();
}

absl::StatusOr<TokenDecoder> TokenDecoder::FromJson(const simdjson::dom::element& element) {
  TokenDecoder d;
  RETURN_IF_ERROR(Parse(element, &d.steps_));
  return d;
}

bool TokenDecoder::is_byte_level_or_null() const {
  return steps_.empty() || (steps_.size() == 1 && steps_[0].kind == Kind::kByteLevel);
}

bool TokenDecoder::has_byte_fallback() const {
  for (const Step& s : steps_) {
    if (s.kind == Kind::kByteFallback) return true;
  }
  return false;
}

void TokenDecoder::Apply(const Step& step, std::vector<std::string>* tokens) {
  switch (step.kind) {
    case Kind::kByteLevel: {
      // A token outside the ByteLevel alphabet (an added token) stays as it is.
      std::string bytes;
      for (const std::string& t : *tokens) bytes += ByteLevelDecode(t).value_or(t);
      tokens->assign(1, Utf8Lossy(bytes));
      return;
    }
    case Kind::kByteFallback: {
      std::vector<std::string> out;
      std::string pending;
      auto flush = [&] {
        if (pending.empty()) return;
        if (FindInvalidUtf8(pending) == std::string_view::npos) {
          out.push_back(pending);
        } else {
          for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementChar);
        }
        pending.clear();
      };
      for (std::string& t : *tokens) {
        if (std::optional<uint8_t> b = ByteFallbackValue(t)) {
          pending.push_back(static_cast<char>(*b));
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      *tokens = std::move(out);
      return;
    }
    case Kind::kFuse: {
      std::string all;
      for (const std::string& t : *tokens) all += t;
      tokens->assign(1, std::move(all));
      return;
    }
    case Kind::kReplace:
      for (std::string& t : *tokens) {
        std::string replaced;
        step.pattern->ReplaceAll(t, step.content, &replaced);
        t = std::move(replaced);
      }
      return;
    case Kind::kStrip:
      for (std::string& t : *tokens) {
        const std::string& c = step.content;
        size_t begin = 0, end = t.size();
        for (uint64_t k = 0; k < step.start && t.compare(begin, c.size(), c) == 0; ++k) {
          begin += c.size();
        }
        for (uint64_t k = 0; k < step.stop && end >= begin + c.size() &&
                             t.compare(end - c.size(), c.size(), c) == 0;
             ++k) {
          end -= c.size();
        }
        t = t.substr(begin, end - begin);
      }
      return;
    case Kind::kMetaspace:
      for (size_t i = 0; i < tokens->size(); ++i) {
        std::string& t = (*tokens)[i];
        std::string out;
        for (size_t k = 0; k < t.size();) {
          if (t.compare(k, step.content.size(), step.content) == 0) {
            if (!(i == 0 && step.strip_first)) out.push_back(' ');
            k += step.content.size();
          } else {
            out.push_back(t[k++]);
          }
        }
        t = std::move(out);
      }
      return;
  }
}

std::string TokenDecoder::Decode(std::vector<std::string> tokens) const {
  for (const Step& s : steps_) Apply(s, &tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string TokenDecoder::TokenText(std::string_view token) const {
  if (has_byte_fallback()) {
    if (std::optional<uint8_t> b = ByteFallbackValue(token)) return std::string(1, *b);
  }
  std::vector<std::string> one = {std::string(token)};
  for (const Step& s : steps_) {
    if (s.kind == Kind::kReplace) {
      Apply(s, &one);
    } else if (s.kind == Kind::kMetaspace) {
      Step inner = s;
      inner.strip_first = false;
      Apply(inner, &one);
    }
  }
  return one[0];
}

std::string TokenDecoder::Describe() const {
  std::string out;
  for (const Step& s : steps_) {
    if (!out.empty()) out += ", ";
    switch (s.kind) {
      case Kind::kByteLevel:
        out += "ByteLevel";
        break;
      case Kind::kByteFallback:
        out += "ByteFallback";
        break;
      case Kind::kFuse:
        out += "Fuse";
        break;
      case Kind::kReplace:
        out += "Replace";
        break;
      case Kind::kStrip:
        out += "Strip";
        break;
      case Kind::kMetaspace:
        out += "Metaspace";
        break;
    }
  }
  return out;
}

}  // namespace shardstream
