// BPE tokenizer, exact with respect to Hugging Face `tokenizers` for the same tokenizer.json:
// byte-level vocabularies (GPT-2, Llama 3, Qwen, DeepSeek, GPT-4o) and SentencePiece-style ones
// (Llama 2, Gemma: characters, "▁" spaces, byte fallback), with the normalizers, pre-tokenizers
// and decoders of common/normalizer.h, common/pre_tokenizer_sequence.h and
// common/token_decoder.h (docs/tokenizer.md lists what is supported and what is refused).
//
//   absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromJsonFile("tokenizer.json");
//   Encoder encoder(t->get());                     // one per thread: owns a bounded cache
//   absl::StatusOr<std::vector<TokenId>> ids = encoder.Encode(text, EncodeMode::kOrdinary);
//   absl::StatusOr<std::string> back = (*t)->Decode(*ids);   // == text
#ifndef SHARDSTREAM_COMMON_TOKENIZER_H_
#define SHARDSTREAM_COMMON_TOKENIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/normalizer.h"
#include "common/pre_tokenizer.h"
#include "common/pre_tokenizer_sequence.h"
#include "common/token_decoder.h"

namespace shardstream {

using TokenId = uint32_t;

// Ids a tokenizer may use: 0 .. kTokenIdLimit - 1 (64 times the largest vocabularies in use).
// The id table is dense, so a file claiming id 4e9 must be refused, not allocated for.
inline constexpr uint64_t kTokenIdLimit = uint64_t{1} << 24;

enum class EncodeMode {
  // Special-token strings in the text are plain text (tiktoken's encode_ordinary). What corpus
  // tokenization uses: data can never inject a control token.
  kOrdinary,
  // Added tokens in the text become their ids, as Hugging Face's encode() does.
  kWithSpecials,
};

struct AddedToken {
  TokenId id;
  std::string content;
  bool special;
  // Hugging Face's AddedToken options: matched in the normalized text (content normalized too)
  // rather than the raw text; only between non-word characters; taking the whitespace on its
  // left / right with it.
  bool normalized = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
};

// Immutable after loading; thread-safe. Encoding goes through an Encoder (below).
class Tokenizer {
 public:
  // Loads a Hugging Face tokenizer.json. INVALID_ARGUMENT names any unsupported component
  // (normalizer, model, pre-tokenizer, option) instead of producing different ids.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view json);
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJsonFile(const std::string& path);
  // Loads GPT-2's classic vocab.json + merges.txt: ByteLevel pre-tokenizer without prefix
  // space; "<|endoftext|>" (when in the vocabulary) is a special added token.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromVocabAndMerges(
      const std::string& vocab_json_path, const std::string& merges_txt_path);
  // The same from the two files' contents.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromVocabAndMergesText(
      std::string_view vocab_json, std::string_view merges_txt);

  // Ids → text. Byte-level vocabularies with a ByteLevel (or no) decoder: the concatenated bytes
  // of the tokens, so Decode(Encode(x)) == x for every valid UTF-8 x. Otherwise Hugging Face's
  // decoder chain (docs/tokenizer.md). INVALID_ARGUMENT for an unknown id.
  absl::StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const;
  // The bytes one token stands for (added tokens: their content; SentencePiece-style tokens:
  // "▁" as a space, "<0xHH>" as its byte); nullopt for an unknown id.
  std::optional<std::string_view> TokenBytes(TokenId id) const;

  // 1 + the largest id (added tokens included).
  size_t vocab_size() const { return id_to_bytes_.size(); }
  const std::vector<AddedToken>& added_tokens() const { return added_tokens_; }
  // The id of an added token with this content, if any.
  std::optional<TokenId> AddedTokenId(std::string_view content) const;
  // A stable fingerprint of what decides ids: normalizer, pre-tokenizer, vocabulary, merges,
  // model options and added tokens. Equal for files that differ only in formatting, key order or
  // merge syntax.
  Hash128 fingerprint() const { return fingerprint_; }
  // Short human description ("byte-level BPE: 50257 ids, 50000 merges, GPT-2 regex, ...").
  std::string Describe() const;

 private:
  friend class Encoder;
  friend class TokenizerBuilder;
  Tokenizer() = default;

  struct Merge {
    uint32_t rank;
    TokenId merged;
  };
  static uint64_t PairKey(TokenId a, TokenId b) { return (uint64_t{a} << 32) | b; }
  // The merge of the pair (a, b), or nullptr when the model has none.
  const Merge* FindMerge(TokenId a, TokenId b) const {
    auto it = merges_.find(PairKey(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  }
  // SentencePiece's space, "▁" (U+2581).
  static constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";
  static constexpr char32_t kSpaceMarkerCodePoint = 0x2581;

  // Model. Token strings are in "model space": raw bytes for byte-level vocabularies (the
  // ByteLevel alphabet decoded), the vocabulary's own UTF-8 strings otherwise.
  absl::flat_hash_map<std::string, TokenId> bytes_to_id_;  // token string → id
  std::vector<std::string> id_to_bytes_;                   // id → token string ("" if unused)
  std::vector<std::string> id_to_text_;  // non-byte-level: TokenBytes() (decoder's view)
  std::vector<bool> id_used_;
  bool byte_level_ = true;              // the pre-tokenizer ends in ByteLevel
  std::array<TokenId, 256> byte_id_{};  // byte-level: single-byte tokens
  absl::flat_hash_map<uint64_t, Merge> merges_;
  size_t num_merges_ = 0;
  bool ignore_merges_ = false;
  // Not byte-level: how a character becomes a first symbol.
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  bool byte_fallback_ = false;
  std::array<int64_t, 256> fallback_id_{};  // "<0xHH>" ids, -1 if absent
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
  // SentencePiece-style vocabularies: a piece may be cut before each "▁" that follows a
  // character no merge result joins to a "▁" (not in glue_before_space_), since no merge can
  // then span the cut; whole documents (no pre-tokenizer) become cached words. Off when an
  // option makes the cut visible (affixes, ignore_merges) or "▁" is not in the vocabulary.
  bool cut_at_spaces_ = false;
  absl::flat_hash_set<char32_t> glue_before_space_;
  // Normalizer, pre-tokenizer, decoder.
  Normalizer normalizer_;
  PreTokenizerSequence pre_tokenizer_;
  TokenDecoder decoder_;
  // The pre-tokenizer when it is a scanner and a prefix space at most (pre_tokenizer_.simple()).
  bool simple_ = true;
  std::optional<SplitPattern> pattern_;  // nullopt: no regex split (whole text is one piece)
  bool add_prefix_space_ = false;
  // Added tokens, longest first per leading byte of what is matched (the normalized content for
  // normalized tokens) for leftmost-longest matching.
  std::vector<AddedToken> added_tokens_;
  std::vector<std::string> added_match_;                        // what each added token matches
  std::array<std::vector<uint32_t>, 256> added_by_first_byte_;  // indexes, longest first
  Hash128 fingerprint_;
};

// Encodes with one Tokenizer (common/encoder.cc), caching the ids of recent pre-tokens. Not
// thread-safe: use one per thread. Memory: at most max_cache_entries cached pieces and
// kMaxCacheBytes (cleared when full), and scratch for one text, given back after a text that
// needed more than kKeptScratchBytes of it.
class Encoder {
 public:
  static constexpr size_t kDefaultCacheEntries = 1 << 16;
  static constexpr size_t kMaxCacheBytes = size_t{8} << 20;
  static constexpr size_t kKeptScratchBytes = size_t{4} << 20;

  // `tokenizer` is borrowed and must outlive the encoder.
  explicit Encoder(const Tokenizer* tokenizer, size_t max_cache_entries = kDefaultCacheEntries);

  // INVALID_ARGUMENT when `text` is not valid UTF-8 (the message gives the byte offset):
  // tokenizer.json defines ids for text, and Hugging Face cannot take such input either.
  absl::StatusOr<std::vector<TokenId>> Encode(std::string_view text, EncodeMode mode);
  // Appends to `ids`; same contract.
  absl::Status EncodeTo(std::string_view text, EncodeMode mode, std::vector<TokenId>* ids);

  // Pieces of at least this many symbols merge through buckets by rank instead of a heap (the
  // same ids; several times faster on pieces of megabytes). For tests and benchmarks.
  static constexpr size_t kMergeByRankSymbols = 64 << 10;
  void set_merge_by_rank_symbols(size_t symbols) { merge_by_rank_symbols_ = symbols; }

 private:
  struct Segment {
    size_t begin, end;
    std::optional<TokenId> id;  // an added token
  };
  // Added tokens of one pass (normalized or not) in `text`, with Hugging Face's rules.
  void FindAddedTokens(std::string_view text, bool normalized_pass, std::vector<Segment>* out);
  // Encodes normalized text that holds no added token; `at_origin`: it starts the input.
  void EncodeNormalized(std::string_view text, bool at_origin, std::vector<TokenId>* ids);
  void EncodePiece(std::string_view piece, std::vector<TokenId>* ids);
  void EncodeWord(std::string_view word, std::vector<TokenId>* ids);  // cached
  void MergeBytes(std::string_view piece, std::vector<TokenId>* ids);
  // The merge loops over symbols_ for long pieces (linked through prev_/next_), both in Hugging
  // Face's order (lowest rank, then leftmost first): a heap of candidates; and, for very long
  // pieces, one bucket of positions per rank, which visits memory in order. MergeByRank
  // returns false, leaving symbols_ as they were, for a vocabulary where a merge creates a pair
  // of its own or a lower rank (no trained BPE does); MergeWithHeap handles any.
  void LinkSymbols();
  // Merges symbols_[pos] with the symbol linked after it into `merged`.
  void JoinWithRight(int32_t pos, TokenId merged, std::vector<bool>* removed);
  void MergeWithHeap(std::vector<TokenId>* ids);
  bool MergeByRank(std::vector<TokenId>* ids);
  // First symbols of a piece of a non-byte-level vocabulary (prefix/suffix, byte fallback, unk).
  void Symbolize(std::string_view piece);
  // Frees the scratch a long text grew beyond kKeptScratchBytes.
  void ReleaseLargeScratch();

  const Tokenizer* const tokenizer_;
  const size_t max_cache_entries_;
  size_t merge_by_rank_symbols_ = kMergeByRankSymbols;
  absl::flat_hash_map<std::string, std::pair<uint32_t, uint32_t>> cache_;  // piece → arena span
  std::vector<TokenId> arena_;
  size_t cache_bytes_ = 0;  // of cache_'s keys and entries and arena_
  std::vector<std::string_view> pieces_;
  std::vector<std::string> owned_pieces_;  // general pre-tokenizers
  std::string prefixed_;                   // scratch for add_prefix_space
  std::string normalized_, normalized_part_;
  // Scratch for the merge loop.
  std::vector<TokenId> symbols_;
  std::vector<uint32_t> ranks_;                // short pieces: rank of each adjacent pair
  std::vector<TokenId> merged_;                // ... and the token it merges into
  std::vector<int32_t> prev_, next_;           // long pieces: linked symbols
  std::vector<std::vector<int32_t>> buckets_;  // very long pieces: positions by rank
};

// Encodes `texts` on `jobs` threads (one Encoder each); results in input order. Thread-safe.
absl::StatusOr<std::vector<std::vector<TokenId>>> EncodeBatch(const Tokenizer& tokenizer,
                                                              const std::vector<std::string>& texts,
                                                              EncodeMode mode, int jobs);

// GPT-2's byte ↔ printable-character mapping used by ByteLevel vocabularies.
// ByteToUnicode()[b] is the code point byte b is written as in vocab files.
const std::array<char32_t, 256>& ByteToUnicode();
// Raw bytes written in that alphabet (how byte-level vocabularies write tokens), and back:
// nullopt when a character of `token` is not one of the 256.
std::string ByteLevelEncode(std::string_view bytes);
std::optional<std::string> ByteLevelDecode(std::string_view token);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_TOKENIZER_H_
