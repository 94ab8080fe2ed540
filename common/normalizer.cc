#include "common/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <array>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tokenizer_json.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

using tokenizer_json::TypeOf;
using tokenizer_json::Unsupported;

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Calls f(code point, its bytes) for each character of valid UTF-8 `s`.
template <typename F>
void ForEachChar(std::string_view s, F f) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t len = std::max<size_t>(DecodeUtf8(s.substr(i), &cp), 1);
    f(cp, s.substr(i, len));
    i += len;
  }
}

struct NormalizationException {
  char32_t cp;
  int form;  // 0 NFC, 1 NFD, 2 NFKC, 3 NFKD, 4 Lowercase, 5 StripAccents
  const char* to;
};
#include "common/normalization_exceptions.inc"

// The code points ICU maps differently from Hugging Face under `form`, and Hugging Face's result
// (tools/reference/normalization_exceptions.cc: a few hundred, where the two sides' Unicode
// versions differ).
const absl::flat_hash_map<char32_t, std::string_view>& Exceptions(int form) {
  static const auto* tables = [] {
    auto* t = new std::array<absl::flat_hash_map<char32_t, std::string_view>, 6>();
    for (const NormalizationException& e : kNormalizationExceptions) (*t)[e.form][e.cp] = e.to;
    return t;
  }();
  return (*tables)[form];
}

const icu::Normalizer2* IcuForm(int form) {
  UErrorCode status = U_ZERO_ERROR;
  switch (form) {
    case 0:
      return icu::Normalizer2::getNFCInstance(status);
    case 1:
      return icu::Normalizer2::getNFDInstance(status);
    case 2:
      return icu::Normalizer2::getNFKCInstance(status);
    default:
      return icu::Normalizer2::getNFKDInstance(status);
  }
}

}  // namespace

absl::Status Normalizer::Parse(const simdjson::dom::element& e, std::vector<Step>* steps) {
  const std::string type = TypeOf(e);
  if (type.empty()) return absl::OkStatus();
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(simdjson::dom::array list, tokenizer_json::List(e, "normalizers"));
    for (simdjson::dom::element child : list) RETURN_IF_ERROR(Parse(child, steps));
    return absl::OkStatus();
  }
  Step step;
  if (type == "NFC") {
    step.kind = Kind::kNfc;
  } else if (type == "NFD") {
    step.kind = Kind::kNfd;
  } else if (type == "NFKC") {
    step.kind = Kind::kNfkc;
  } else if (type == "NFKD") {
    step.kind = Kind::kNfkd;
  } else if (type == "Lowercase") {
    step.kind = Kind::kLowercase;
  } else if (type == "StripAccents") {
    step.kind = Kind::kStripAccents;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    ASSIGN_OR_RETURN(step.left, tokenizer_json::Bool(e, "strip_left", true));
    ASSIGN_OR_RETURN(step.right, tokenizer_json::Bool(e, "strip_right", true));
  } else if (type == "Replace") {
    step.kind = Kind::kReplace;
    ASSIGN_OR_RETURN(step.pattern, tokenizer_json::Pattern(e, "pattern"));
    ASSIGN_OR_RETURN(step.content, tokenizer_json::String(e, "content", ""));
  } else if (type == "Prepend") {
    step.kind = Kind::kPrepend;
    ASSIGN_OR_RETURN(step.content, tokenizer_json::String(e, "prepend", ""));
  } else {
    return Unsupported(absl::StrCat("normalizer ", type));
  }
  steps->push_back(std::move(step));
  return absl::OkStatus();
}

absl::StatusOr<Normalizer> Normalizer::FromJson(const simdjson::dom::element& element) {
  Normalizer n;
  RETURN_IF_ERROR(Parse(element, &n.steps_));
  return n;
}

void Normalizer::Apply(const Step& step, std::string_view in, std::string* out) {
  out->clear();
  switch (step.kind) {
    case Kind::kNfc:
    case Kind::kNfd:
    case Kind::kNfkc:
    case Kind::kNfkd: {
      if (IsAscii(in)) {  // ASCII is in every normalization form
        out->assign(in);
        return;
      }
      const int form = static_cast<int>(step.kind);
      const icu::Normalizer2* icu_form = IcuForm(form);
      auto icu_normalize = [icu_form, out](std::string_view segment) {
        if (segment.empty()) return;
        // ICU works on UTF-8 directly; most text is already normalized (checked first).
        const icu::StringPiece piece(segment.data(), static_cast<int32_t>(segment.size()));
        UErrorCode status = U_ZERO_ERROR;
        if (icu_form->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
          out->append(segment);
          return;
        }
        status = U_ZERO_ERROR;
        const size_t before = out->size();
        icu::StringByteSink<std::string> sink(out);
        icu_form->normalizeUTF8(0, piece, sink, nullptr, status);
        if (U_FAILURE(status)) {
          out->resize(before);
          out->append(segment);
        }
      };
      // A code point the two sides' tables disagree on is one Hugging Face's tables do not
      // know (or know differently): it is taken as Hugging Face maps it, and the text around
      // it is normalized apart, as it is where a character composes with nothing.
      const auto& exceptions = Exceptions(form);
      size_t segment_begin = 0;
      ForEachChar(in, [&](char32_t cp, std::string_view bytes) {
        if (cp < 0x80) return;
        auto it = exceptions.find(cp);
        if (it == exceptions.end()) return;
        const size_t at = static_cast<size_t>(bytes.data() - in.data());
        icu_normalize(in.substr(segment_begin, at - segment_begin));
        out->append(it->second);
        segment_begin = at + bytes.size();
      });
      icu_normalize(in.substr(segment_begin));
      return;
    }
    case Kind::kLowercase: {
      // Each character on its own (Rust's char::to_lowercase): full mappings, no context.
      out->reserve(in.size());
      const auto& exceptions = Exceptions(static_cast<int>(Kind::kLowercase));
      ForEachChar(in, [out, &exceptions](char32_t cp, std::string_view bytes) {
        if (cp < 0x80) {
          out->push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
          return;
        }
        if (auto it = exceptions.find(cp); it != exceptions.end()) {
          out->append(it->second);
          return;
        }
        icu::UnicodeString one(static_cast<UChar32>(cp));
        one.toLower(icu::Locale::getRoot());
        one.toUTF8String(*out);
      });
      return;
    }
    case Kind::kStripAccents: {
      constexpr int kStripAccentsForm = 5;
      const auto& exceptions = Exceptions(kStripAccentsForm);
      ForEachChar(in, [out, &exceptions](char32_t cp, std::string_view bytes) {
        if (auto it = exceptions.find(cp); it != exceptions.end()) {
          out->append(it->second);
        } else if ((U_GET_GC_MASK(cp) & U_GC_M_MASK) == 0) {
          out->append(bytes);
        }
      });
      return;
    }
    case Kind::kStrip: {  // Rust's char::is_whitespace
      std::string_view kept = in;
      if (step.left) kept.remove_prefix(LeadingWhiteSpaceEnd(kept));
      if (step.right) kept = kept.substr(0, TrailingWhiteSpaceStart(kept));
      out->assign(kept);
      return;
    }
    case Kind::kReplace:
      step.pattern->ReplaceAll(in, step.content, out);
      return;
    case Kind::kPrepend:
      if (!in.empty()) out->append(step.content);
      out->append(in);
      return;
  }
}

void Normalizer::Normalize(std::string_view text, std::string* out) const {
  if (steps_.empty()) {
    out->assign(text);
    return;
  }
  std::string scratch;
  Apply(steps_[0], text, out);
  for (size_t i = 1; i < steps_.size(); ++i) {
    scratch.swap(*out);
    Apply(steps_[i], scratch, out);
  }
}

std::string Normalizer::Describe() const {
  std::string out;
  for (const Step& s : steps_) {
    if (!out.empty()) out += ", ";
    switch (s.kind) {
      case Kind::kNfc:
        out += "NFC";
        break;
      case Kind::kNfd:
        out += "NFD";
        break;
      case Kind::kNfkc:
        out += "NFKC";
        break;
      case Kind::kNfkd:
        out += "NFKD";
        break;
      case Kind::kLowercase:
        out += "Lowercase";
        break;
      case Kind::kStripAccents:
        out += "StripAccents";
        break;
      case Kind::kStrip:
        absl::StrAppend(&out, "Strip(", s.left, ",", s.right, ")");
        break;
      case Kind::kReplace:
        absl::StrAppend(&out, "Replace(", s.pattern->is_literal() ? "\"" : "/",
                        s.pattern->pattern(), s.pattern->is_literal() ? "\"" : "/", ",\"",
                        s.content, "\")");
        break;
      case Kind::kPrepend:
        absl::StrAppend(&out, "Prepend(\"", s.content, "\")");
        break;
    }
  }
  return out;
}

}  // namespace shardstream
