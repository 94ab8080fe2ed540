#include "common/tokenizer.h"

#include <simdjson.h>

#include <algorithm>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/decoded_stream.h"
#include "common/status_macros.h"
#include "common/tokenizer_json.h"
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

using tokenizer_json::TypeOf;
using tokenizer_json::Unsupported;

}  // namespace

const std::array<char32_t, 256>& ByteToUnicode() {
  static const std::array<char32_t, 256> map = MakeByteToUnicode();
  return map;
}

std::string ByteLevelEncode(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    const char32_t cp = ByteToUnicode()[static_cast<uint8_t>(c)];
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

// Inverse of ByteToUnicode(): code point → byte, -1 when not a byte-level character.
static const std::vector<int>& UnicodeToByte() {
  static const std::vector<int>* inverse = [] {
    auto* v = new std::vector<int>(512, -1);
    for (int b = 0; b < 256; ++b) (*v)[ByteToUnicode()[b]] = b;
    return v;
  }();
  return *inverse;
}

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

// Assembles a Tokenizer from parsed parts and validates it. The pre-tokenizer comes first: it
// decides whether vocabulary strings are byte-level (decoded to raw bytes) or taken as they are.
class TokenizerBuilder {
 public:
  TokenizerBuilder() : t_(new Tokenizer()) {}

  void SetComponents(Normalizer normalizer, PreTokenizerSequence pre, TokenDecoder decoder) {
    t_->byte_level_ = pre.byte_level();
    t_->simple_ = pre.simple().has_value();
    if (pre.simple().has_value()) {
      t_->pattern_ = pre.simple()->pattern;
      t_->add_prefix_space_ = pre.simple()->add_prefix_space;
    }
    t_->normalizer_ = std::move(normalizer);
    t_->pre_tokenizer_ = std::move(pre);
    t_->decoder_ = std::move(decoder);
  }
  // GPT-2's classic files: ByteLevel with the GPT-2 regex, no prefix space.
  void SetGpt2PreTokenizer() {
    t_->byte_level_ = true;
    t_->simple_ = true;
    t_->pattern_ = SplitPattern::kGpt2;
    t_->add_prefix_space_ = false;
  }
  void SetIgnoreMerges(bool ignore) { t_->ignore_merges_ = ignore; }
  absl::Status SetModelOptions(std::string prefix, std::string suffix, bool byte_fallback,
                               std::optional<std::string> unk, bool fuse_unk) {
    if (t_->byte_level_) {
      for (std::string* affix : {&prefix, &suffix}) {
        std::optional<std::string> raw = ByteLevelDecode(*affix);
        if (!raw.has_value()) {
          return Unsupported(
              "a continuing_subword_prefix / end_of_word_suffix outside the "
              "ByteLevel alphabet");
        }
        *affix = *raw;
      }
      if (byte_fallback && !(prefix.empty() && suffix.empty())) {
        return Unsupported("byte_fallback with a ByteLevel pre-tokenizer and a subword affix");
      }
    }
    t_->continuing_subword_prefix_ = std::move(prefix);
    t_->end_of_word_suffix_ = std::move(suffix);
    t_->byte_fallback_ = byte_fallback;
    unk_ = std::move(unk);
    t_->fuse_unk_ = fuse_unk;
    return absl::OkStatus();
  }

  absl::Status AddVocab(std::string_view token, uint64_t id) {
    RETURN_IF_ERROR(CheckId(token, id));
    ++vocab_entries_;
    if (!t_->byte_level_) {
      SetId(std::string(token), static_cast<TokenId>(id));
      return absl::OkStatus();
    }
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
    std::optional<std::string> ab, bb;
    if (t_->byte_level_) {
      ab = ByteLevelDecode(a);
      bb = ByteLevelDecode(b);
    } else {
      ab = std::string(a);
      bb = std::string(b);
    }
    auto ia = ab ? t_->bytes_to_id_.find(AsAbsl(*ab)) : t_->bytes_to_id_.end();
    auto ib = bb ? t_->bytes_to_id_.find(AsAbsl(*bb)) : t_->bytes_to_id_.end();
    if (ia == t_->bytes_to_id_.end() || ib == t_->bytes_to_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", line + 1, " (\"", AsAbsl(a), "\" \"", AsAbsl(b),
                       "\") uses a token missing from the vocabulary"));
    }
    // As Hugging Face: the merged token is a + b without b's continuing_subword_prefix.
    const size_t prefix = std::min(t_->continuing_subword_prefix_.size(), bb->size());
    auto im = t_->bytes_to_id_.find(AsAbsl(*ab + bb->substr(prefix)));
    if (im == t_->bytes_to_id_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", line + 1, " (\"", AsAbsl(a), "\" \"", AsAbsl(b),
                       "\") makes a token missing from the vocabulary"));
    }
    // A repeated pair takes its last rank, as Hugging Face's merge map does.
    t_->merges_[Tokenizer::PairKey(ia->second, ib->second)] =
        Tokenizer::Merge{static_cast<uint32_t>(line), im->second};
    ++merge_count_;
    return absl::OkStatus();
  }

  // `id` as read from the file, before it is narrowed to a TokenId.
  absl::Status AddAddedToken(AddedToken token, uint64_t id) {
    RETURN_IF_ERROR(CheckId(token.content, id));
    token.id = static_cast<TokenId>(id);
    added_.push_back(std::move(token));
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Tokenizer>> Finish() {
    Tokenizer& t = *t_;
    AssignAddedTokenIds();
    for (const AddedToken& a : added_) {
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
                                        "\" is not in the ByteLevel alphabet although the "
                                        "pre-tokenizer is ByteLevel"));
      }
    }
    if (t.byte_level_) {
      for (int b = 0; b < 256; ++b) {
        auto it = t.bytes_to_id_.find(absl::string_view(reinterpret_cast<const char*>(&b), 1));
        if (it == t.bytes_to_id_.end()) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "the vocabulary has no token for byte 0x%02X although the pre-tokenizer is "
              "ByteLevel",
              b));
        }
        t.byte_id_[b] = it->second;
      }
    } else {
      for (int b = 0; b < 256; ++b) {
        auto it = t.bytes_to_id_.find(absl::StrFormat("<0x%02X>", b));
        t.fallback_id_[b] = it == t.bytes_to_id_.end() ? int64_t{-1} : int64_t{it->second};
      }
      t.id_to_text_.resize(t.id_to_bytes_.size());
      for (size_t id = 0; id < t.id_to_bytes_.size(); ++id) {
        if (t.id_used_[id]) t.id_to_text_[id] = t.decoder_.TokenText(t.id_to_bytes_[id]);
      }
    }
    if (unk_.has_value()) {
      auto it = t.bytes_to_id_.find(AsAbsl(*unk_));
      if (it == t.bytes_to_id_.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unk_token \"", AsAbsl(*unk_), "\" is not in the vocabulary"));
      }
      t.unk_id_ = it->second;
    }
    t.num_merges_ = merge_count_;
    if (!t.byte_level_ && t.continuing_subword_prefix_.empty() && t.end_of_word_suffix_.empty() &&
        !t.ignore_merges_ && t.bytes_to_id_.contains(AsAbsl(Tokenizer::kSpaceMarker))) {
      t.cut_at_spaces_ = true;
      for (const auto& [key, merge] : t.merges_) {
        const std::string_view merged = t.id_to_bytes_[merge.merged];
        for (size_t i = merged.find(Tokenizer::kSpaceMarker, 1); i != std::string_view::npos;
             i = merged.find(Tokenizer::kSpaceMarker, i + 1)) {
          char32_t before;
          DecodeLastUtf8(merged.substr(0, i), &before);
          if (before != Tokenizer::kSpaceMarkerCodePoint) t.glue_before_space_.insert(before);
        }
      }
    }
    // Added tokens: matched leftmost-longest; non-normalized ones first (docs/tokenizer.md);
    // a normalized one matches its normalized content.
    for (AddedToken& a : added_) {
      std::string match = a.content;
      if (a.normalized) {
        // Hugging Face matches it normalized, and gives that form back for its id (decode).
        t.normalizer_.Normalize(a.content, &match);
        if (!match.empty()) t.id_to_bytes_[a.id] = match;
      }
      // TokenBytes() of an added token that is not also a vocabulary token: its content.
      if (!t.byte_level_ && !t.bytes_to_id_.contains(AsAbsl(t.id_to_bytes_[a.id]))) {
        t.id_to_text_[a.id] = t.id_to_bytes_[a.id];
      }
      t.added_tokens_.push_back(a);
      t.added_match_.push_back(std::move(match));
    }
    for (uint32_t i = 0; i < t.added_tokens_.size(); ++i) {
      if (t.added_match_[i].empty()) continue;
      t.added_by_first_byte_[static_cast<uint8_t>(t.added_match_[i][0])].push_back(i);
    }
    for (auto& list : t.added_by_first_byte_) {
      std::stable_sort(list.begin(), list.end(), [&t](uint32_t a, uint32_t b) {
        return t.added_match_[a].size() > t.added_match_[b].size();
      });
    }
    t.fingerprint_ = Fingerprint(t);
    return std::move(t_);
  }

 private:
  // Everything that decides ids, in a canonical order. Tokenizers that use none of the
  // components added after v1 (normalizers, general pre-tokenizers, non-byte-level models,
  // added-token options) keep their v1 fingerprint, so existing token stores stay valid.
  static Hash128 Fingerprint(const Tokenizer& t) {
    Hasher128 h;
    h.UpdateString("shardstream.tokenizer.v1");
    h.UpdateU64(t.pattern_.has_value() && t.simple_ ? 1 + static_cast<int>(*t.pattern_) : 0);
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
    bool added_options = false;
    for (const AddedToken& a : t.added_tokens_) {
      h.UpdateU64(a.id);
      h.UpdateString(a.content);
      h.UpdateU64(a.special);
      h.UpdateU64(a.normalized);
      added_options |= a.single_word || a.lstrip || a.rstrip;
    }
    std::string v2;
    if (!t.normalizer_.is_identity())
      absl::StrAppend(&v2, "normalizer:", t.normalizer_.Describe(), ";");
    if (!t.simple_) absl::StrAppend(&v2, "pre:", t.pre_tokenizer_.Describe(), ";");
    if (!t.byte_level_) {
      absl::StrAppend(&v2, "chars;prefix:", t.continuing_subword_prefix_,
                      ";suffix:", t.end_of_word_suffix_, ";fallback:", t.byte_fallback_,
                      ";unk:", t.unk_id_.has_value() ? static_cast<int64_t>(*t.unk_id_) : -1,
                      ";fuse:", t.fuse_unk_, ";");
    }
    if (added_options) {
      v2 += "added:";
      for (const AddedToken& a : t.added_tokens_) {
        absl::StrAppend(&v2, a.single_word, a.lstrip, a.rstrip, ",");
      }
    }
    if (!v2.empty()) h.UpdateString(absl::StrCat("v2;", v2));
    return h.Digest();
  }

  // Hugging Face does not take added tokens' ids from the file: in file order, a token gets the
  // id of an earlier added token with the same content, else of the vocabulary entry written as
  // its content, else the next new id (from the vocabulary's size on). The last of several
  // tokens with one content decides its options. Files Hugging Face wrote agree with this.
  void AssignAddedTokenIds() {
    absl::flat_hash_map<std::string, size_t> by_content;  // → index in `kept`
    std::vector<AddedToken> kept;
    uint32_t next_id = static_cast<uint32_t>(vocab_entries_);
    for (AddedToken& a : added_) {
      if (a.content.empty()) continue;
      if (auto it = by_content.find(a.content); it != by_content.end()) {
        a.id = kept[it->second].id;
        kept[it->second] = a;
        continue;
      }
      if (std::optional<TokenId> id = VocabEntryId(a.content)) {
        a.id = *id;
      } else {
        a.id = next_id++;
      }
      by_content.emplace(a.content, kept.size());
      kept.push_back(a);
    }
    added_ = std::move(kept);
  }

  // The id of the vocabulary entry written as `written` in the file (before added tokens join
  // bytes_to_id_): byte-level entries are keyed by the bytes they decode to.
  std::optional<TokenId> VocabEntryId(std::string_view written) const {
    std::optional<std::string> key =
        t_->byte_level_ ? ByteLevelDecode(written) : std::optional(std::string(written));
    if (key.has_value()) {
      if (auto it = t_->bytes_to_id_.find(AsAbsl(*key)); it != t_->bytes_to_id_.end()) {
        return it->second;
      }
    }
    for (const auto& [token, id] : non_byte_level_) {
      if (token == written) return id;
    }
    return std::nullopt;
  }

  static absl::Status CheckId(std::string_view token, uint64_t id) {
    if (id < kTokenIdLimit) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("token \"", AsAbsl(token), "\" has id ", id,
                                                   "; ids must be below ", kTokenIdLimit));
  }

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
  size_t merge_count_ = 0;  // merges read, repeated pairs included
  std::vector<AddedToken> added_;
  std::optional<std::string> unk_;
  size_t vocab_entries_ = 0;  // model.vocab's size, where new added-token ids start
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
  // An absent component reads as null (a default-constructed element is not one).
  simdjson::dom::parser null_parser;
  simdjson::dom::element null_element =
      null_parser.parse(simdjson::padded_string(std::string_view("null"))).value();
  auto field = [&top, &null_element](std::string_view key) {
    simdjson::dom::element e;
    if (top.at_key(key).get(e) != simdjson::SUCCESS) return null_element;
    return e;
  };
  // Components that would change ids and are not implemented are refused by name.
  for (const char* key : {"truncation", "padding"}) {
    simdjson::dom::element e = field(key);
    if (!e.is_null()) {
      return Unsupported(absl::StrCat(key, " is set; only null is supported"));
    }
  }
  {
    // Post-processors add special tokens (encode with add_special_tokens) and adjust offsets;
    // ids here are those of encode(text, add_special_tokens=False), which none of these change.
    simdjson::dom::element e = field("post_processor");
    std::string type = TypeOf(e);
    if (!type.empty() && type != "ByteLevel" && type != "TemplateProcessing" &&
        type != "Sequence" && type != "BertProcessing" && type != "RobertaProcessing") {
      return Unsupported(absl::StrCat("post_processor ", type));
    }
  }
  ASSIGN_OR_RETURN(Normalizer normalizer, Normalizer::FromJson(field("normalizer")));
  ASSIGN_OR_RETURN(PreTokenizerSequence pre,
                   PreTokenizerSequence::FromJson(field("pre_tokenizer")));
  ASSIGN_OR_RETURN(TokenDecoder decoder, TokenDecoder::FromJson(field("decoder")));
  TokenizerBuilder builder;
  builder.SetComponents(std::move(normalizer), std::move(pre), std::move(decoder));

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
    ASSIGN_OR_RETURN(bool byte_fallback, tokenizer_json::Bool(model, "byte_fallback", false));
    ASSIGN_OR_RETURN(std::string prefix,
                     tokenizer_json::String(model, "continuing_subword_prefix", ""));
    ASSIGN_OR_RETURN(std::string suffix, tokenizer_json::String(model, "end_of_word_suffix", ""));
    ASSIGN_OR_RETURN(std::optional<std::string> unk,
                     tokenizer_json::OptionalString(model, "unk_token"));
    ASSIGN_OR_RETURN(bool fuse_unk, tokenizer_json::Bool(model, "fuse_unk", false));
    ASSIGN_OR_RETURN(bool ignore_merges, tokenizer_json::Bool(model, "ignore_merges", false));
    RETURN_IF_ERROR(builder.SetModelOptions(std::move(prefix), std::move(suffix), byte_fallback,
                                            std::move(unk), fuse_unk));
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
      AddedToken token{0, std::string(content), false};
      ASSIGN_OR_RETURN(token.special, tokenizer_json::Bool(e, "special", false));
      ASSIGN_OR_RETURN(token.normalized, tokenizer_json::Bool(e, "normalized", !token.special));
      ASSIGN_OR_RETURN(token.single_word, tokenizer_json::Bool(e, "single_word", false));
      ASSIGN_OR_RETURN(token.lstrip, tokenizer_json::Bool(e, "lstrip", false));
      ASSIGN_OR_RETURN(token.rstrip, tokenizer_json::Bool(e, "rstrip", false));
      RETURN_IF_ERROR(builder.AddAddedToken(std::move(token), id));
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
  builder.SetGpt2PreTokenizer();
  for (simdjson::dom::key_value_pair kv : vocab) {
    uint64_t id;
    if (kv.value.get_uint64().get(id) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(absl::StrCat(vocab_json_path, ": an id is not an integer"));
    }
    if (kv.key == "<|endoftext|>") {
      RETURN_IF_ERROR(builder.AddAddedToken(AddedToken{0, "<|endoftext|>", true}, id));
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
  return byte_level_ ? id_to_bytes_[id] : id_to_text_[id];
}

absl::StatusOr<std::string> Tokenizer::Decode(const std::vector<TokenId>& ids) const {
  for (TokenId id : ids) {
    if (id >= id_to_bytes_.size() || !id_used_[id]) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id ", id, " is not in the vocabulary (size ", vocab_size(), ")"));
    }
  }
  std::string out;
  if (byte_level_ && decoder_.is_byte_level_or_null()) {
    for (TokenId id : ids) out.append(id_to_bytes_[id]);
    return out;
  }
  // Hugging Face's decode: each id's token string (added tokens: their content; byte-level
  // tokens: in the ByteLevel alphabet, as the vocabulary writes them) through the decoder.
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    const std::string& s = id_to_bytes_[id];
    auto it = byte_level_ ? bytes_to_id_.find(AsAbsl(s)) : bytes_to_id_.end();
    const bool model_token = it != bytes_to_id_.end() && it->second == id;
    tokens.push_back(model_token ? ByteLevelEncode(s) : s);
  }
  return decoder_.Decode(std::move(tokens));
}

std::optional<TokenId> Tokenizer::AddedTokenId(std::string_view content) const {
  for (const AddedToken& a : added_tokens_) {
    if (a.content == content) return a.id;
  }
  return std::nullopt;
}

std::string Tokenizer::Describe() const {
  auto pattern_name = [](std::optional<SplitPattern> p) -> std::string {
    if (!p.has_value()) return "ByteLevel without regex";
    switch (*p) {
      case SplitPattern::kGpt2:
        return "GPT-2 regex";
      case SplitPattern::kCl100k:
        return "cl100k/Llama-3 regex";
      case SplitPattern::kQwen2:
        return "Qwen2 regex";
    }
    return "?";
  };
  if (byte_level_ && simple_ && normalizer_.is_identity()) {
    return absl::StrFormat("byte-level BPE: %d ids, %d merges, %s%s%s, %d added tokens",
                           vocab_size(), num_merges_, pattern_name(pattern_),
                           add_prefix_space_ ? ", prefix space" : "",
                           ignore_merges_ ? ", ignore_merges" : "", added_tokens_.size());
  }
  std::string out =
      absl::StrFormat("%s BPE: %d ids, %d merges", byte_level_ ? "byte-level" : "character",
                      vocab_size(), num_merges_);
  if (!normalizer_.is_identity()) absl::StrAppend(&out, ", normalizer ", normalizer_.Describe());
  absl::StrAppend(&out, ", pre-tokenizer ",
                  simple_ ? pattern_name(pattern_) : pre_tokenizer_.Describe());
  if (byte_fallback_) out += ", byte_fallback";
  if (unk_id_.has_value()) absl::StrAppend(&out, ", unk ", *unk_id_, fuse_unk_ ? " (fused)" : "");
  if (ignore_merges_) out += ", ignore_merges";
  absl::StrAppend(&out, ", ", added_tokens_.size(), " added tokens");
  return out;
}

}  // namespace shardstream
