#include "common/pre_tokenizer_sequence.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tokenizer_json.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

using tokenizer_json::TypeOf;
using tokenizer_json::Unsupported;

// A stretch of a piece and whether it matched (Hugging Face's find_matches output, which
// covers the whole piece).
struct Part {
  size_t begin, end;
  bool match;
};

char32_t CodePointAt(std::string_view s, size_t i, size_t* len) {
  char32_t cp = 0;
  *len = std::max<size_t>(DecodeUtf8(s.substr(i), &cp), 1);
  return cp;
}

std::vector<Part> PartsFromMatches(size_t size, const std::vector<UnicodeRegex::Match>& matches) {
  std::vector<Part> parts;
  if (size == 0) return {{0, 0, false}};
  size_t prev = 0;
  for (const UnicodeRegex::Match& m : matches) {
    if (prev != m.begin) parts.push_back({prev, m.begin, false});
    parts.push_back({m.begin, m.end, true});
    prev = m.end;
  }
  if (prev != size) parts.push_back({prev, size, false});
  return parts;
}

// Each character for which `pred` holds is a match of its own (a char-predicate Pattern).
template <typename Pred>
std::vector<Part> PartsFromChars(std::string_view s, Pred pred) {
  if (s.empty()) return {{0, 0, false}};
  std::vector<Part> parts;
  size_t last = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    char32_t cp = CodePointAt(s, i, &len);
    if (pred(cp)) {
      if (last < i) parts.push_back({last, i, false});
      parts.push_back({i, i + len, true});
      last = i + len;
    }
    i += len;
  }
  if (last < s.size()) parts.push_back({last, s.size(), false});
  return parts;
}

// NormalizedString::split: the parts combined as `behavior` says; {begin, end, removed}.
std::vector<Part> Combine(std::vector<Part> parts, SplitBehavior behavior) {
  std::vector<Part> out;  // .match now means "removed"
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (Part p : parts) out.push_back({p.begin, p.end, false});
      return out;
    case SplitBehavior::kRemoved:
      return parts;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.match == previous && !out.empty()) {
          out.back().end = p.end;
        } else {
          out.push_back({p.begin, p.end, false});
        }
        previous = p.match;
      }
      return out;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Part& p : parts) {
        if (p.match && !previous && !out.empty()) {
          out.back().end = p.end;
        } else {
          out.push_back({p.begin, p.end, false});
        }
        previous = p.match;
      }
      return out;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->match && !previous && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back({it->begin, it->end, false});
        }
        previous = it->match;
      }
      std::reverse(out.begin(), out.end());
      return out;
    }
  }
  return out;
}

absl::StatusOr<SplitBehavior> BehaviorOf(simdjson::dom::element e) {
  ASSIGN_OR_RETURN(std::string name, tokenizer_json::String(e, "behavior", "Isolated"));
  // Hugging Face accepts both spellings.
  if (name == "Removed" || name == "removed") return SplitBehavior::kRemoved;
  if (name == "Isolated" || name == "isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious" || name == "mergedWithPrevious") {
    return SplitBehavior::kMergedWithPrevious;
  }
  if (name == "MergedWithNext" || name == "mergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous" || name == "contiguous") return SplitBehavior::kContiguous;
  return Unsupported(absl::StrCat("split behavior ", name));
}

const char* BehaviorName(SplitBehavior b) {
  switch (b) {
    case SplitBehavior::kRemoved:
      return "Removed";
    case SplitBehavior::kIsolated:
      return "Isolated";
    case SplitBehavior::kMergedWithPrevious:
      return "MergedWithPrevious";
    case SplitBehavior::kMergedWithNext:
      return "MergedWithNext";
    case SplitBehavior::kContiguous:
      return "Contiguous";
  }
  return "?";
}

}  // namespace

absl::Status PreTokenizerSequence::Parse(const simdjson::dom::element& e,
                                         std::vector<Step>* steps) {
  const std::string type = TypeOf(e);
  if (type.empty()) return absl::OkStatus();
  if (type == "Sequence") {
    ASSIGN_OR_RETURN(simdjson::dom::array list, tokenizer_json::List(e, "pretokenizers"));
    for (simdjson::dom::element child : list) RETURN_IF_ERROR(Parse(child, steps));
    return absl::OkStatus();
  }
  Step step;
  if (type == "Split") {
    ASSIGN_OR_RETURN(step.behavior, BehaviorOf(e));
    ASSIGN_OR_RETURN(step.invert, tokenizer_json::Bool(e, "invert", false));
    std::string_view regex;
    std::optional<SplitPattern> scanner;
    if (e["pattern"]["Regex"].get_string().get(regex) == simdjson::SUCCESS) {
      scanner = SplitPatternFromRegex(regex);
    }
    if (scanner.has_value() && step.behavior == SplitBehavior::kIsolated && !step.invert) {
      step.kind = Kind::kScanner;
      step.pattern = *scanner;
    } else {
      step.kind = Kind::kSplit;
      ASSIGN_OR_RETURN(step.regex, tokenizer_json::Pattern(e, "pattern"));
    }
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
    ASSIGN_OR_RETURN(step.add_prefix_space, tokenizer_json::Bool(e, "add_prefix_space", true));
    ASSIGN_OR_RETURN(step.use_regex, tokenizer_json::Bool(e, "use_regex", true));
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    ASSIGN_OR_RETURN(step.replacement, tokenizer_json::Character(e, "replacement", "\xE2\x96\x81"));
    ASSIGN_OR_RETURN(bool add_prefix_space, tokenizer_json::Bool(e, "add_prefix_space", true));
    ASSIGN_OR_RETURN(
        std::string scheme,
        tokenizer_json::String(e, "prepend_scheme", add_prefix_space ? "always" : "never"));
    if (scheme == "always") {
      step.prepend = Prepend::kAlways;
    } else if (scheme == "first") {
      step.prepend = Prepend::kFirst;
    } else if (scheme == "never") {
      step.prepend = Prepend::kNever;
    } else {
      return Unsupported(absl::StrCat("Metaspace prepend_scheme ", scheme));
    }
    ASSIGN_OR_RETURN(step.split, tokenizer_json::Bool(e, "split", true));
  } else if (type == "Digits") {
    step.kind = Kind::kDigits;
    ASSIGN_OR_RETURN(step.individual_digits, tokenizer_json::Bool(e, "individual_digits", false));
  } else if (type == "Punctuation") {
    step.kind = Kind::kPunctuation;
    ASSIGN_OR_RETURN(step.behavior, BehaviorOf(e));
  } else if (type == "Whitespace") {
    step.kind = Kind::kWhitespace;
  } else if (type == "WhitespaceSplit") {
    step.kind = Kind::kWhitespaceSplit;
  } else if (type == "BertPreTokenizer") {
    step.kind = Kind::kBert;
  } else if (type == "CharDelimiterSplit") {
    step.kind = Kind::kCharDelimiter;
    ASSIGN_OR_RETURN(step.replacement, tokenizer_json::Character(e, "delimiter", ""));
  } else {
    return Unsupported(absl::StrCat("pre_tokenizer ", type));
  }
  if (!step.replacement.empty()) DecodeUtf8(step.replacement, &step.replacement_code_point);
  steps->push_back(std::move(step));
  return absl::OkStatus();
}

absl::StatusOr<PreTokenizerSequence> PreTokenizerSequence::FromJson(
    const simdjson::dom::element& e) {
  PreTokenizerSequence seq;
  RETURN_IF_ERROR(Parse(e, &seq.steps_));
  for (size_t i = 0; i < seq.steps_.size(); ++i) {
    if (seq.steps_[i].kind == Kind::kByteLevel && i + 1 != seq.steps_.size()) {
      return Unsupported("a pre-tokenizer after ByteLevel (ByteLevel must come last)");
    }
  }
  seq.byte_level_ = !seq.steps_.empty() && seq.steps_.back().kind == Kind::kByteLevel;
  const std::vector<Step>& s = seq.steps_;
  seq.simple_.reset();
  if (s.empty()) {
    seq.simple_ = Simple{};
  } else if (s.size() == 1 && s[0].kind == Kind::kByteLevel) {
    seq.simple_ = Simple{s[0].use_regex ? std::optional(SplitPattern::kGpt2) : std::nullopt,
                         s[0].add_prefix_space};
  } else if (s[0].kind == Kind::kScanner &&
             (s.size() == 1 || (s.size() == 2 && s[1].kind == Kind::kByteLevel &&
                                !s[1].add_prefix_space && !s[1].use_regex))) {
    seq.simple_ = Simple{s[0].pattern, false};
  }
  return seq;
}

void PreTokenizerSequence::Apply(const Step& step, Piece piece, std::vector<Piece>* out) {
  const std::string& text = piece.text;
  auto emit = [&](const std::vector<Part>& parts) {
    for (const Part& p : parts) {
      if (p.match || p.end <= p.begin) continue;  // removed, or empty (dropped by Hugging Face)
      out->push_back({text.substr(p.begin, p.end - p.begin), piece.at_origin && p.begin == 0});
    }
  };
  auto scan = [&](SplitPattern pattern, std::string_view s, bool origin) {
    std::vector<std::string_view> views;
    PreTokenize(pattern, s, &views);
    for (std::string_view v : views) {
      out->push_back({std::string(v), origin && v.data() == s.data()});
    }
  };
  switch (step.kind) {
    case Kind::kSplit: {
      std::vector<UnicodeRegex::Match> matches;
      step.regex->FindAll(text, &matches);
      std::vector<Part> parts = PartsFromMatches(text.size(), matches);
      if (step.invert) {
        for (Part& p : parts) p.match = !p.match;
      }
      emit(Combine(std::move(parts), step.behavior));
      return;
    }
    case Kind::kScanner:
      scan(step.pattern, text, piece.at_origin);
      return;
    case Kind::kByteLevel: {
      if (step.add_prefix_space && (text.empty() || text[0] != ' ')) {
        piece.text.insert(0, 1, ' ');
      }
      if (step.use_regex) {
        scan(SplitPattern::kGpt2, piece.text, piece.at_origin);
      } else if (!piece.text.empty()) {
        out->push_back(std::move(piece));
      }
      return;
    }
    case Kind::kMetaspace: {
      std::string replaced;
      for (char c : text) {
        if (c == ' ') {
          replaced += step.replacement;
        } else {
          replaced.push_back(c);
        }
      }
      const bool starts = replaced.compare(0, step.replacement.size(), step.replacement) == 0;
      if (!starts && (step.prepend == Prepend::kAlways ||
                      (step.prepend == Prepend::kFirst && piece.at_origin))) {
        if (!replaced.empty()) replaced.insert(0, step.replacement);
      }
      Piece p{std::move(replaced), piece.at_origin};
      if (!step.split) {
        if (!p.text.empty()) out->push_back(std::move(p));
        return;
      }
      const char32_t rep = step.replacement_code_point;
      std::vector<Part> parts = PartsFromChars(p.text, [rep](char32_t c) { return c == rep; });
      piece = std::move(p);
      emit(Combine(std::move(parts), SplitBehavior::kMergedWithNext));
      return;
    }
    case Kind::kDigits:
      emit(Combine(PartsFromChars(text, IsRustNumeric),
                   step.individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous));
      return;
    case Kind::kPunctuation:
      emit(Combine(PartsFromChars(text, IsRustPunctuation), step.behavior));
      return;
    case Kind::kWhitespaceSplit:
      emit(PartsFromChars(text, IsWhiteSpace));
      return;
    case Kind::kCharDelimiter: {
      const char32_t d = step.replacement_code_point;
      emit(PartsFromChars(text, [d](char32_t c) { return c == d; }));
      return;
    }
    case Kind::kBert: {
      std::vector<Piece> words;
      Step whitespace;
      whitespace.kind = Kind::kWhitespaceSplit;
      Apply(whitespace, std::move(piece), &words);
      Step punct;
      punct.kind = Kind::kPunctuation;
      punct.behavior = SplitBehavior::kIsolated;
      for (Piece& w : words) Apply(punct, std::move(w), out);
      return;
    }
    case Kind::kWhitespace: {
      // \w+|[^\w\s]+ (Rust regex, Unicode), matches kept and the whitespace between removed.
      size_t i = 0;
      while (i < text.size()) {
        size_t len;
        char32_t cp = CodePointAt(text, i, &len);
        if (IsWhiteSpace(cp) && !IsRegexWordChar(cp)) {
          i += len;
          continue;
        }
        const bool word = IsRegexWordChar(cp);
        size_t end = i + len;
        while (end < text.size()) {
          size_t l;
          char32_t c = CodePointAt(text, end, &l);
          if (word ? !IsRegexWordChar(c) : (IsRegexWordChar(c) || IsWhiteSpace(c))) break;
          end += l;
        }
        out->push_back({text.substr(i, end - i), piece.at_origin && i == 0});
        i = end;
      }
      return;
    }
  }
}

void PreTokenizerSequence::Run(std::string_view text, bool at_origin,
                               std::vector<std::string>* pieces) const {
  pieces->clear();
  std::vector<Piece> current, next;
  current.push_back({std::string(text), at_origin});
  for (const Step& step : steps_) {
    next.clear();
    for (Piece& p : current) Apply(step, std::move(p), &next);
    current.swap(next);
  }
  for (Piece& p : current) {
    if (!p.text.empty()) pieces->push_back(std::move(p.text));
  }
}

std::string PreTokenizerSequence::Describe() const {
  std::string out;
  for (const Step& s : steps_) {
    if (!out.empty()) out += ", ";
    switch (s.kind) {
      case Kind::kSplit:
        absl::StrAppend(&out, "Split(", s.regex->is_literal() ? "\"" : "/", s.regex->pattern(),
                        s.regex->is_literal() ? "\"" : "/", ",", BehaviorName(s.behavior),
                        s.invert ? ",invert" : "", ")");
        break;
      case Kind::kScanner:
        absl::StrAppend(&out, "Split(/", std::string(SplitPatternRegex(s.pattern)), "/,Isolated)");
        break;
      case Kind::kByteLevel:
        absl::StrAppend(&out, "ByteLevel(", s.add_prefix_space ? "prefix" : "",
                        s.use_regex ? ",regex" : "", ")");
        break;
      case Kind::kMetaspace:
        absl::StrAppend(&out, "Metaspace(\"", s.replacement, "\",",
                        s.prepend == Prepend::kAlways  ? "always"
                        : s.prepend == Prepend::kFirst ? "first"
                                                       : "never",
                        s.split ? ",split" : "", ")");
        break;
      case Kind::kDigits:
        absl::StrAppend(&out, "Digits(", s.individual_digits ? "individual" : "", ")");
        break;
      case Kind::kPunctuation:
        absl::StrAppend(&out, "Punctuation(", BehaviorName(s.behavior), ")");
        break;
      case Kind::kWhitespace:
        out += "Whitespace";
        break;
      case Kind::kWhitespaceSplit:
        out += "WhitespaceSplit";
        break;
      case Kind::kBert:
        out += "BertPreTokenizer";
        break;
      case Kind::kCharDelimiter:
        absl::StrAppend(&out, "CharDelimiterSplit(", s.replacement, ")");
        break;
    }
  }
  return out;
}

}  // namespace shardstream
