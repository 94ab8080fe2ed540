#include "common/tokenizer.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <queue>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/decoded_stream.h"
#include "common/status_macros.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::array<char32_t, 256> MakeByteToUnicode() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) map[b] = direct[b] ? static_cast<char32_t>(b) : next++;
  return map;
}

// Inverse of ByteToUnicode(): code point → byte, -1 when not a byte-level character.
const std::vector<int>& UnicodeToByte() {
  static const std::vector<int>* inverse = [] {
    auto* v = new std::vector<int>(512, -1);
    for (int b = 0; b < 256; ++b) (*v)[ByteToUnicode()[b]] = b;
    return v;
  }();
  return *inverse;
}

// The raw bytes a byte-level token string stands for; nullopt if a character is not one of
// the 256 byte-level characters.
std::optional<std::string> ByteLevelDecode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  const std::vector<int>& inverse = UnicodeToByte();
  for (size_t i = 0; i < token.size();) {
    char32_t cp;
    size_t len = DecodeUtf8(token.substr(i), &cp);
    if (len == 0 || cp >= inverse.size() || inverse[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(inverse[cp]));
    i += len;
  }
  return out;
}

absl::Status Unsupported(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported tokenizer: ", AsAbsl(what),
                   " (supported: byte-level BPE, see docs/tokenizer.md)"));
}

// Reads an optional boolean field; `fallback` when absent or null.
absl::StatusOr<bool> BoolField(simdjson::dom::object obj, std::string_view key, bool fallback) {
  simdjson::dom::element e;
  if (obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return fallback;
  bool value;
  if (e.get_bool().get(value) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.json: \"", AsAbsl(key), "\" is not a boolean"));
  }
  return value;
}

// The "type" of a component object, or "" when the element is null/absent.
std::string TypeOf(simdjson::dom::element e) {
  if (e.is_null()) return "";
  std::string_view type;
  if (e["type"].get_string().get(type) != simdjson::SUCCESS) return "?";
  return std::string(type);
}

}  // namespace

const std::array<char32_t, 256>& ByteToUnicode() {
  static const std::array<char32_t, 256> map = MakeByteToUnicode();
  return map;
}

// Assembles a Tokenizer from parsed parts and validates it.
class TokenizerBuilder {
 public:
  TokenizerBuilder() : t_(new Tokenizer()) {}

  absl::Status AddVocab(std::string_view token, uint64_t id) {
    if (id > (1u << 30))
      return absl::InvalidArgumentError(absl::StrCat("token id ", id, " too large"));
    std::optional<std::string> bytes = ByteLevelDecode(token);
    if (!bytes.has_value()) {
      // Allowed only for ids that are added tokens (checked in Finish()).
      non_byte_level_.emplace_back(token, static_cast<TokenId>(id));
      return absl::OkStatus();
    }
    SetId(*bytes, static_cast<TokenId>(id));
    return absl::OkStatus();
  }

  absl::Status AddMerge(std::string_view a, std::string_view b, size_t line) {
    std::optional<std::string> ab = ByteLevelDecode(a), bb = ByteLevelDecode(b);
    auto ia = ab ? t_->bytes_to_id_.find(AsAbsl(*ab)) : t_->bytes_to_id_.end();
    auto ib = bb ? t_->bytes_to_id_.find(AsAbsl(*bb)) : t_->bytes_to_id_.end();
    if (ia == t_->bytes_to_id_.end() || ib == t_->bytes_to_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", line + 1, " (\"", AsAbsl(a), "\" \"", AsAbsl(b),
                       "\") uses a token missing from the vocabulary"));
    }
    auto im = t_->bytes_to_id_.find(AsAbsl(*ab + *bb));
    if (im == t_->bytes_to_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", line + 1, " (\"", AsAbsl(a), "\" \"", AsAbsl(b),
                       "\") makes a token missing from the vocabulary"));
    }
    // A repeated pair takes its last rank, as Hugging Face's merge map does.
    t_->merges_[Tokenizer::PairKey(ia->second, ib->second)] =
        Tokenizer::Merge{static_cast<uint32_t>(line), im->second};
    merge_list_.push_back({ia->second, ib->second});
    return absl::OkStatus();
  }

  void AddAddedToken(AddedToken token, bool normalized) {
    added_.push_back(std::move(token));
    added_normalized_.push_back(normalized);
  }

  void SetPreTokenizer(std::optional<SplitPattern> pattern, bool add_prefix_space) {
    t_->pattern_ = pattern;
    t_->add_prefix_space_ = add_prefix_space;
  }
  void SetIgnoreMerges(bool ignore) { t_->ignore_merges_ = ignore; }

  absl::StatusOr<std::unique_ptr<Tokenizer>> Finish() {
    Tokenizer& t = *t_;
    for (const AddedToken& a : added_) {
      if (a.content.empty()) return absl::InvalidArgumentError("an added token is empty");
      if (FindInvalidUtf8(a.content) != std::string_view::npos) {
        return absl::InvalidArgumentError("an added token is not UTF-8");
      }
      SetId(a.content, a.id, /*in_model=*/false);
    }
    for (const auto& [token, id] : non_byte_level_) {
      bool is_added = std::any_of(added_.begin(), added_.end(),
                                  [id = id](const AddedToken& a) { return a.id == id; });
      if (!is_added) {
        return Unsupported(absl::StrCat("vocabulary token \"", AsAbsl(token),
                                        "\" is not byte-level (ByteLevel BPE vocabularies only)"));
      }
    }
    for (int b = 0; b < 256; ++b) {
      auto it = t.bytes_to_id_.find(absl::string_view(reinterpret_cast<const char*>(&b), 1));
      if (it == t.bytes_to_id_.end()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "the vocabulary has no token for byte 0x%02X: not a byte-level BPE", b));
      }
      t.byte_id_[b] = it->second;
    }
    t.num_merges_ = merge_list_.size();
    // Added tokens: matched leftmost-longest; non-normalized ones first (docs/tokenizer.md).
    for (size_t i = 0; i < added_.size(); ++i) {
      t.added_tokens_.push_back(added_[i]);
      t.added_normalized_.push_back(added_normalized_[i]);
    }
    for (uint32_t i = 0; i < t.added_tokens_.size(); ++i) {
      t.added_by_first_byte_[static_cast<uint8_t>(t.added_tokens_[i].content[0])].push_back(i);
    }
    for (auto& list : t.added_by_first_byte_) {
      std::stable_sort(list.begin(), list.end(), [&t](uint32_t a, uint32_t b) {
        return t.added_tokens_[a].content.size() > t.added_tokens_[b].content.size();
      });
    }
    // Fingerprint: everything that decides ids, in a canonical order.
    Hasher128 h;
    h.UpdateString("shardstream.tokenizer.v1");
    h.UpdateU64(t.pattern_.has_value() ? 1 + static_cast<int>(*t.pattern_) : 0);
    h.UpdateU64(t.add_prefix_space_);
    h.UpdateU64(t.ignore_merges_);
    h.UpdateU64(t.id_to_bytes_.size());
    for (size_t id = 0; id < t.id_to_bytes_.size(); ++id) {
      h.UpdateU64(t.id_used_[id]);
      h.UpdateString(t.id_to_bytes_[id]);
    }
    // Merges by effective rank (after duplicates resolved).
    std::vector<std::pair<uint32_t, uint64_t>> ranked;
    for (const auto& [key, merge] : t.merges_) ranked.emplace_back(merge.rank, key);
    std::sort(ranked.begin(), ranked.end());
    h.UpdateU64(ranked.size());
    for (const auto& [rank, key] : ranked) h.UpdateU64(key);
    h.UpdateU64(t.added_tokens_.size());
    for (size_t i = 0; i < t.added_tokens_.size(); ++i) {
      const AddedToken& a = t.added_tokens_[i];
      h.UpdateU64(a.id);
      h.UpdateString(a.content);
      h.UpdateU64(a.special);
      h.UpdateU64(t.added_normalized_[i]);
    }
    t.fingerprint_ = h.Digest();
    return std::move(t_);
  }

 private:
  void SetId(const std::string& bytes, TokenId id, bool in_model = true) {
    if (id >= t_->id_to_bytes_.size()) {
      t_->id_to_bytes_.resize(id + 1);
      t_->id_used_.resize(id + 1, false);
    }
    t_->id_to_bytes_[id] = bytes;
    t_->id_used_[id] = true;
    if (in_model) t_->bytes_to_id_[bytes] = id;
  }

  std::unique_ptr<Tokenizer> t_;
  std::vector<std::pair<std::string, TokenId>> non_byte_level_;
  std::vector<std::pair<TokenId, TokenId>> merge_list_;
  std::vector<AddedToken> added_;
  std::vector<bool> added_normalized_;
};

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(simdjson::padded_string(json)).get(root); err != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer.json is not valid JSON: ", simdjson::error_message(err)));
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("tokenizer.json is not a JSON object");
  }
  TokenizerBuilder builder;
  auto field = [&top](std::string_view key) {
    simdjson::dom::element e;
    if (top.at_key(key).get(e) != simdjson::SUCCESS) return simdjson::dom::element();
    return e;
  };
  // Components that would change ids and are not implemented are refused by name.
  for (const char* key : {"truncation", "padding", "normalizer"}) {
    simdjson::dom::element e;
    if (top.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null()) {
      std::string type = TypeOf(e);
      return Unsupported(absl::StrCat(key, type.empty() || type == "?" ? "" : " " + type,
                                      " is set; only null is supported"));
    }
  }
  {
    simdjson::dom::element e;
    if (top.at_key("decoder").get(e) == simdjson::SUCCESS && !e.is_null() &&
        TypeOf(e) != "ByteLevel") {
      return Unsupported(absl::StrCat("decoder ", TypeOf(e)));
    }
    if (top.at_key("post_processor").get(e) == simdjson::SUCCESS && !e.is_null()) {
      std::string type = TypeOf(e);
      if (type != "ByteLevel" && type != "TemplateProcessing") {
        return Unsupported(absl::StrCat("post_processor ", type));
      }
    }
  }

  // Pre-tokenizer.
  simdjson::dom::element pre = field("pre_tokenizer");
  const std::string pre_type = pre.is_null() ? "" : TypeOf(pre);
  if (pre_type == "ByteLevel") {
    simdjson::dom::object obj = pre.get_object().value_unsafe();
    ASSIGN_OR_RETURN(bool prefix, BoolField(obj, "add_prefix_space", true));
    ASSIGN_OR_RETURN(bool use_regex, BoolField(obj, "use_regex", true));
    builder.SetPreTokenizer(use_regex ? std::optional(SplitPattern::kGpt2) : std::nullopt, prefix);
  } else if (pre_type == "Sequence") {
    simdjson::dom::array list;
    if (pre["pretokenizers"].get_array().get(list) != simdjson::SUCCESS || list.size() != 2 ||
        TypeOf(list.at(0).value_unsafe()) != "Split" ||
        TypeOf(list.at(1).value_unsafe()) != "ByteLevel") {
      return Unsupported("pre_tokenizer Sequence other than [Split, ByteLevel]");
    }
    simdjson::dom::object split = list.at(0).value_unsafe().get_object().value_unsafe();
    simdjson::dom::object byte_level = list.at(1).value_unsafe().get_object().value_unsafe();
    std::string_view behavior, regex;
    if (split["behavior"].get_string().get(behavior) != simdjson::SUCCESS ||
        behavior != "Isolated") {
      return Unsupported("Split pre-tokenizer with a behavior other than Isolated");
    }
    ASSIGN_OR_RETURN(bool invert, BoolField(split, "invert", false));
    if (invert) return Unsupported("Split pre-tokenizer with invert");
    if (split["pattern"]["Regex"].get_string().get(regex) != simdjson::SUCCESS) {
      return Unsupported("Split pre-tokenizer without a Regex pattern");
    }
    std::optional<SplitPattern> pattern = SplitPatternFromRegex(regex);
    if (!pattern.has_value()) {
      return Unsupported(absl::StrCat("Split regex ", AsAbsl(regex),
                                      " (implemented: the GPT-2 and the cl100k/Llama-3 regex)"));
    }
    ASSIGN_OR_RETURN(bool prefix, BoolField(byte_level, "add_prefix_space", true));
    ASSIGN_OR_RETURN(bool use_regex, BoolField(byte_level, "use_regex", true));
    if (prefix || use_regex) {
      return Unsupported("ByteLevel after Split must have add_prefix_space and use_regex false");
    }
    builder.SetPreTokenizer(pattern, false);
  } else {
    return Unsupported(pre_type.empty() ? std::string("no pre_tokenizer")
                                        : absl::StrCat("pre_tokenizer ", pre_type));
  }

  // Model.
  simdjson::dom::element model = field("model");
  simdjson::dom::object model_obj;
  if (model.get_object().get(model_obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("tokenizer.json has no model");
  }
  const std::string model_type = TypeOf(model);
  if (model_type != "BPE" && model_type != "?")
    return Unsupported(absl::StrCat("model ", model_type));
  {
    simdjson::dom::element e;
    if (model_obj.at_key("dropout").get(e) == simdjson::SUCCESS && !e.is_null()) {
      return Unsupported("BPE dropout");
    }
    ASSIGN_OR_RETURN(bool byte_fallback, BoolField(model_obj, "byte_fallback", false));
    if (byte_fallback) return Unsupported("BPE byte_fallback");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      std::string_view s;
      if (model_obj.at_key(key).get(e) == simdjson::SUCCESS && !e.is_null() &&
          (e.get_string().get(s) != simdjson::SUCCESS || !s.empty())) {
        return Unsupported(absl::StrCat("BPE ", key));
      }
    }
    ASSIGN_OR_RETURN(bool ignore_merges, BoolField(model_obj, "ignore_merges", false));
    builder.SetIgnoreMerges(ignore_merges);
  }
  simdjson::dom::object vocab;
  if (model_obj["vocab"].get_object().get(vocab) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("tokenizer.json: model.vocab is not an object");
  }
  for (simdjson::dom::key_value_pair kv : vocab) {
    uint64_t id;
    if (kv.value.get_uint64().get(id) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("tokenizer.json: a vocabulary id is not an integer");
    }
    RETURN_IF_ERROR(builder.AddVocab(kv.key, id));
  }
  // Added tokens (needed before merges only for ids; merges reference model tokens).
  simdjson::dom::array added;
  if (top["added_tokens"].get_array().get(added) == simdjson::SUCCESS) {
    for (simdjson::dom::element e : added) {
      simdjson::dom::object obj;
      uint64_t id;
      std::string_view content;
      if (e.get_object().get(obj) != simdjson::SUCCESS || obj["id"].get_uint64().get(id) ||
          obj["content"].get_string().get(content)) {
        return absl::InvalidArgumentError("tokenizer.json: malformed added token");
      }
      for (const char* flag : {"single_word", "lstrip", "rstrip"}) {
        ASSIGN_OR_RETURN(bool on, BoolField(obj, flag, false));
        if (on)
          return Unsupported(absl::StrCat("added token \"", AsAbsl(content), "\" with ", flag));
      }
      ASSIGN_OR_RETURN(bool special, BoolField(obj, "special", false));
      ASSIGN_OR_RETURN(bool normalized, BoolField(obj, "normalized", !special));
      builder.AddAddedToken(AddedToken{static_cast<TokenId>(id), std::string(content), special},
                            normalized);
    }
  }
  simdjson::dom::array merges;
  if (model_obj["merges"].get_array().get(merges) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("tokenizer.json: model.merges is not an array");
  }
  size_t line = 0;
  for (simdjson::dom::element m : merges) {
    std::string_view a, b, joined;
    simdjson::dom::array pair;
    if (m.get_string().get(joined) == simdjson::SUCCESS) {
      size_t space = joined.find(' ');
      if (space == std::string_view::npos ||
          joined.find(' ', space + 1) != std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("merge ", line + 1, " \"", AsAbsl(joined), "\" is not two tokens"));
      }
      a = joined.substr(0, space);
      b = joined.substr(space + 1);
    } else if (m.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2 &&
               pair.at(0).get_string().get(a) == simdjson::SUCCESS &&
               pair.at(1).get_string().get(b) == simdjson::SUCCESS) {
    } else {
      return absl::InvalidArgumentError(absl::StrCat("merge ", line + 1, " is malformed"));
    }
    RETURN_IF_ERROR(builder.AddMerge(a, b, line));
    ++line;
  }
  return builder.Finish();
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string json, ReadFileContents(path));
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = FromJson(json);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat(path, ": ", t.status().message()));
  }
  return t;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocabAndMerges(
    const std::string& vocab_json_path, const std::string& merges_txt_path) {
  ASSIGN_OR_RETURN(std::string vocab, ReadFileContents(vocab_json_path));
  ASSIGN_OR_RETURN(std::string merges, ReadFileContents(merges_txt_path));
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = FromVocabAndMergesText(vocab, merges);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat(vocab_json_path, " + ", merges_txt_path,
                                                        ": ", t.status().message()));
  }
  return t;
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromVocabAndMergesText(
    std::string_view vocab_json, std::string_view merges_txt) {
  const std::string vocab_json_path = "vocab.json", merges_txt_path = "merges.txt";
  std::istringstream min{std::string(merges_txt)};
  simdjson::dom::parser parser;
  simdjson::dom::object vocab;
  if (parser.parse(simdjson::padded_string(vocab_json)).get_object().get(vocab) !=
      simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat(vocab_json_path, " is not a JSON object"));
  }
  TokenizerBuilder builder;
  builder.SetPreTokenizer(SplitPattern::kGpt2, false);
  for (simdjson::dom::key_value_pair kv : vocab) {
    uint64_t id;
    if (kv.value.get_uint64().get(id) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(vocab_json_path, ": an id is not an integer"));
    }
    if (kv.key == "<|endoftext|>") {
      builder.AddAddedToken(AddedToken{static_cast<TokenId>(id), "<|endoftext|>", true}, false);
    }
    RETURN_IF_ERROR(builder.AddVocab(kv.key, id));
  }
  std::string text;
  size_t rank = 0;
  for (size_t line_no = 0; std::getline(min, text); ++line_no) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || (line_no == 0 && text.rfind("#version", 0) == 0)) continue;
    size_t space = text.find(' ');
    if (space == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(merges_txt_path, ":", line_no + 1, ": not two tokens"));
    }
    RETURN_IF_ERROR(builder.AddMerge(std::string_view(text).substr(0, space),
                                     std::string_view(text).substr(space + 1), rank++));
  }
  return builder.Finish();
}

std::optional<std::string_view> Tokenizer::TokenBytes(TokenId id) const {
  if (id >= id_to_bytes_.size() || !id_used_[id]) return std::nullopt;
  return id_to_bytes_[id];
}

absl::StatusOr<std::string> Tokenizer::Decode(const std::vector<TokenId>& ids) const {
  std::string out;
  for (TokenId id : ids) {
    std::optional<std::string_view> bytes = TokenBytes(id);
    if (!bytes.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is not in the vocabulary (size ", vocab_size(), ")"));
    }
    out.append(*bytes);
  }
  return out;
}

std::optional<TokenId> Tokenizer::AddedTokenId(std::string_view content) const {
  for (const AddedToken& a : added_tokens_) {
    if (a.content == content) return a.id;
  }
  return std::nullopt;
}

std::string Tokenizer::Describe() const {
  std::string pre = !pattern_.has_value()              ? "ByteLevel without regex"
                    : *pattern_ == SplitPattern::kGpt2 ? "GPT-2 regex"
                                                       : "cl100k/Llama-3 regex";
  return absl::StrFormat("byte-level BPE: %d ids, %d merges, %s%s%s, %d added tokens", vocab_size(),
                         num_merges_, pre, add_prefix_space_ ? ", prefix space" : "",
                         ignore_merges_ ? ", ignore_merges" : "", added_tokens_.size());
}

Encoder::Encoder(const Tokenizer* tokenizer, size_t max_cache_entries)
    : tokenizer_(tokenizer), max_cache_entries_(std::max<size_t>(max_cache_entries, 1)) {}

absl::StatusOr<std::vector<TokenId>> Encoder::Encode(std::string_view text, EncodeMode mode) {
  std::vector<TokenId> ids;
  RETURN_IF_ERROR(EncodeTo(text, mode, &ids));
  return ids;
}

absl::Status Encoder::EncodeTo(std::string_view text, EncodeMode mode, std::vector<TokenId>* ids) {
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8 at byte ", bad, "; encode UTF-8 text only"));
  }
  const Tokenizer& t = *tokenizer_;
  if (mode == EncodeMode::kOrdinary || t.added_tokens_.empty()) {
    EncodePlain(text, ids);
    return absl::OkStatus();
  }
  // Added tokens split the text first: those with normalized=false over the whole text, then
  // those with normalized=true in what is left, each pass leftmost-longest (as Hugging Face's
  // AddedVocabulary does). The pieces between them are encoded on their own.
  std::vector<std::pair<std::string_view, std::optional<TokenId>>> parts = {{text, std::nullopt}};
  for (bool normalized_pass : {false, true}) {
    std::vector<std::pair<std::string_view, std::optional<TokenId>>> next;
    for (const auto& [part, id] : parts) {
      if (id.has_value()) {
        next.emplace_back(part, id);
        continue;
      }
      size_t start = 0;
      for (size_t i = 0; i < part.size();) {
        bool matched = false;
        for (uint32_t index : t.added_by_first_byte_[static_cast<uint8_t>(part[i])]) {
          const AddedToken& a = t.added_tokens_[index];
          if (t.added_normalized_[index] != normalized_pass) continue;
          if (part.substr(i, a.content.size()) == a.content) {
            if (i > start) next.emplace_back(part.substr(start, i - start), std::nullopt);
            next.emplace_back(part.substr(i, a.content.size()), a.id);
            i += a.content.size();
            start = i;
            matched = true;
            break;
          }
        }
        if (!matched) ++i;
      }
      if (start < part.size()) next.emplace_back(part.substr(start), std::nullopt);
    }
    parts = std::move(next);
  }
  for (const auto& [part, id] : parts) {
    if (id.has_value()) {
      ids->push_back(*id);
    } else {
      EncodePlain(part, ids);
    }
  }
  return absl::OkStatus();
}

void Encoder::EncodePlain(std::string_view text, std::vector<TokenId>* ids) {
  const Tokenizer& t = *tokenizer_;
  if (text.empty()) return;
  if (t.add_prefix_space_ && text[0] != ' ') {
    prefixed_.assign(1, ' ');
    prefixed_.append(text);
    text = prefixed_;
  }
  if (!t.pattern_.has_value()) {
    EncodePiece(text, ids);
    return;
  }
  pieces_.clear();
  PreTokenize(*t.pattern_, text, &pieces_);
  for (std::string_view piece : pieces_) EncodePiece(piece, ids);
}

void Encoder::EncodePiece(std::string_view piece, std::vector<TokenId>* ids) {
  if (auto it = cache_.find(AsAbsl(piece)); it != cache_.end()) {
    ids->insert(ids->end(), arena_.begin() + it->second.first,
                arena_.begin() + it->second.first + it->second.second);
    return;
  }
  const size_t before = ids->size();
  MergeBytes(piece, ids);
  if (cache_.size() >= max_cache_entries_) {
    cache_.clear();
    arena_.clear();
  }
  const size_t count = ids->size() - before;
  cache_.emplace(std::string(piece), std::make_pair(static_cast<uint32_t>(arena_.size()),
                                                    static_cast<uint32_t>(count)));
  arena_.insert(arena_.end(), ids->begin() + before, ids->end());
}

void Encoder::MergeBytes(std::string_view piece, std::vector<TokenId>* ids) {
  const Tokenizer& t = *tokenizer_;
  if (t.ignore_merges_) {
    if (auto it = t.bytes_to_id_.find(AsAbsl(piece)); it != t.bytes_to_id_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const size_t n = piece.size();
  symbols_.resize(n);
  for (size_t i = 0; i < n; ++i) symbols_[i] = t.byte_id_[static_cast<uint8_t>(piece[i])];
  if (n == 1) {
    ids->push_back(symbols_[0]);
    return;
  }
  auto merge_of = [&t](TokenId a, TokenId b) -> const Tokenizer::Merge* {
    auto it = t.merges_.find(Tokenizer::PairKey(a, b));
    return it == t.merges_.end() ? nullptr : &it->second;
  };
  constexpr uint32_t kNoMerge = UINT32_MAX;
  if (n <= 128) {
    // Short pieces: keep each adjacent pair's rank and merge the lowest, leftmost first.
    std::vector<uint32_t>& ranks = ranks_;
    std::vector<TokenId>& merged = merged_;
    ranks.resize(n - 1);
    merged.resize(n - 1);
    auto set_rank = [&](size_t k) {
      const Tokenizer::Merge* m = merge_of(symbols_[k], symbols_[k + 1]);
      ranks[k] = m ? m->rank : kNoMerge;
      merged[k] = m ? m->merged : 0;
    };
    for (size_t k = 0; k + 1 < n; ++k) set_rank(k);
    size_t size = n;
    while (size > 1) {
      size_t best = 0;
      uint32_t best_rank = kNoMerge;
      for (size_t k = 0; k + 1 < size; ++k) {
        if (ranks[k] < best_rank) {
          best_rank = ranks[k];
          best = k;
        }
      }
      if (best_rank == kNoMerge) break;
      symbols_[best] = merged[best];
      symbols_.erase(symbols_.begin() + best + 1);
      ranks.erase(ranks.begin() + best);
      merged.erase(merged.begin() + best);
      --size;
      if (best > 0) set_rank(best - 1);
      if (best + 1 < size) set_rank(best);
    }
    ids->insert(ids->end(), symbols_.begin(), symbols_.begin() + size);
    return;
  }
  // Long pieces: linked symbols and a heap of candidate merges ordered by (rank, position),
  // skipping stale entries: the same order as Hugging Face's Word::merge_all, in O(n log n).
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    TokenId merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  prev_.resize(n);
  next_.resize(n);
  std::vector<bool> removed(n, false);
  for (size_t i = 0; i < n; ++i) {
    prev_[i] = static_cast<int32_t>(i) - 1;
    next_[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  for (size_t k = 0; k + 1 < n; ++k) {
    if (const Tokenizer::Merge* m = merge_of(symbols_[k], symbols_[k + 1])) {
      heap.push({m->rank, static_cast<int32_t>(k), m->merged});
    }
  }
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    if (removed[top.pos]) continue;
    const int32_t right = next_[top.pos];
    if (right < 0) continue;
    const Tokenizer::Merge* m = merge_of(symbols_[top.pos], symbols_[right]);
    if (m == nullptr || m->merged != top.merged || m->rank != top.rank) continue;
    symbols_[top.pos] = top.merged;
    removed[right] = true;
    next_[top.pos] = next_[right];
    if (next_[right] >= 0) prev_[next_[right]] = top.pos;
    if (prev_[top.pos] >= 0) {
      const int32_t left = prev_[top.pos];
      if (const Tokenizer::Merge* lm = merge_of(symbols_[left], symbols_[top.pos])) {
        heap.push({lm->rank, left, lm->merged});
      }
    }
    if (next_[top.pos] >= 0) {
      if (const Tokenizer::Merge* rm = merge_of(symbols_[top.pos], symbols_[next_[top.pos]])) {
        heap.push({rm->rank, top.pos, rm->merged});
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = next_[i]) ids->push_back(symbols_[i]);
}

absl::StatusOr<std::vector<std::vector<TokenId>>> EncodeBatch(const Tokenizer& tokenizer,
                                                              const std::vector<std::string>& texts,
                                                              EncodeMode mode, int jobs) {
  std::vector<std::vector<TokenId>> out(texts.size());
  std::vector<absl::Status> errors(texts.size());
  // Longest texts first, so no thread is left with a big one at the end.
  std::vector<size_t> order(texts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&texts](size_t a, size_t b) { return texts[a].size() > texts[b].size(); });
  std::atomic<size_t> next{0};
  auto work = [&] {
    Encoder encoder(&tokenizer);
    for (size_t k = next.fetch_add(1); k < texts.size(); k = next.fetch_add(1)) {
      const size_t i = order[k];
      errors[i] = encoder.EncodeTo(texts[i], mode, &out[i]);
    }
  };
  const int threads = std::max(1, std::min<int>(jobs, static_cast<int>(texts.size())));
  std::vector<std::thread> pool;
  for (int k = 1; k < threads; ++k) pool.emplace_back(work);
  work();
  for (std::thread& th : pool) th.join();
  for (size_t i = 0; i < texts.size(); ++i) {
    if (!errors[i].ok()) {
      return absl::Status(errors[i].code(), absl::StrCat("text ", i, ": ", errors[i].message()));
    }
  }
  return out;
}

}  // namespace shardstream
