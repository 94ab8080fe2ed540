// Encoder and EncodeBatch (declared in common/tokenizer.h): added tokens, normalization,
// pre-tokenization and BPE merging of text, with a pre-token cache.
#include <algorithm>
#include <atomic>
#include <queue>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tokenizer.h"
#include "common/unicode_classes.h"

namespace shardstream {
namespace {

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Rust regex's \w$ / ^\w on text (Hugging Face's single_word rule).
bool EndsWithWord(std::string_view s) {
  if (s.empty()) return false;
  char32_t cp;
  DecodeLastUtf8(s, &cp);
  return IsRegexWordChar(cp);
}
bool StartsWithWord(std::string_view s) {
  char32_t cp;
  return !s.empty() && DecodeUtf8(s, &cp) > 0 && IsRegexWordChar(cp);
}

}  // namespace

Encoder::Encoder(const Tokenizer* tokenizer, size_t max_cache_entries)
    : tokenizer_(tokenizer), max_cache_entries_(std::max<size_t>(max_cache_entries, 1)) {}

absl::StatusOr<std::vector<TokenId>> Encoder::Encode(std::string_view text, EncodeMode mode) {
  std::vector<TokenId> ids;
  RETURN_IF_ERROR(EncodeTo(text, mode, &ids));
  return ids;
}

void Encoder::FindAddedTokens(std::string_view text, bool normalized_pass,
                              std::vector<Segment>* out) {
  // Hugging Face's AddedVocabulary::find_matches over a leftmost-longest automaton: the
  // iteration goes on after each match's own end; single_word discards a match next to a word
  // character; lstrip / rstrip widen it over adjacent whitespace.
  const Tokenizer& t = *tokenizer_;
  size_t start_offset = 0;
  for (size_t i = 0; i < text.size();) {
    std::optional<uint32_t> found;
    for (uint32_t index : t.added_by_first_byte_[static_cast<uint8_t>(text[i])]) {
      if (t.added_tokens_[index].normalized != normalized_pass) continue;
      const std::string& m = t.added_match_[index];
      if (text.substr(i, m.size()) == m) {
        found = index;
        break;
      }
    }
    if (!found.has_value()) {
      ++i;
      continue;
    }
    const AddedToken& a = t.added_tokens_[*found];
    size_t start = i, stop = i + t.added_match_[*found].size();
    i = stop;
    if (a.single_word && ((start > 0 && EndsWithWord(text.substr(0, start))) ||
                          (stop < text.size() && StartsWithWord(text.substr(stop))))) {
      continue;
    }
    if (a.lstrip) start = std::max(TrailingWhiteSpaceStart(text.substr(0, start)), start_offset);
    if (a.rstrip) stop += LeadingWhiteSpaceEnd(text.substr(stop));
    if (start_offset < start) out->push_back({start_offset, start, std::nullopt});
    out->push_back({start, stop, a.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out->push_back({start_offset, text.size(), std::nullopt});
}

absl::Status Encoder::EncodeTo(std::string_view text, EncodeMode mode, std::vector<TokenId>* ids) {
  if (size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is not valid UTF-8 at byte ", bad, "; encode UTF-8 text only"));
  }
  const Tokenizer& t = *tokenizer_;
  if (mode == EncodeMode::kOrdinary || t.added_tokens_.empty()) {
    if (t.normalizer_.is_identity()) {
      EncodeNormalized(text, /*at_origin=*/true, ids);
    } else {
      t.normalizer_.Normalize(text, &normalized_);
      EncodeNormalized(normalized_, /*at_origin=*/true, ids);
    }
    ReleaseLargeScratch();
    return absl::OkStatus();
  }
  // Added tokens split the text first: those with normalized=false in the raw text; each piece
  // between them is normalized, and those with normalized=true split it again; what is left is
  // pre-tokenized and encoded on its own (Hugging Face's extract_and_normalize).
  std::vector<Segment> raw, inner;
  FindAddedTokens(text, /*normalized_pass=*/false, &raw);
  for (const Segment& part : raw) {
    if (part.id.has_value()) {
      ids->push_back(*part.id);
      continue;
    }
    std::string_view piece = text.substr(part.begin, part.end - part.begin);
    if (!t.normalizer_.is_identity()) {
      t.normalizer_.Normalize(piece, &normalized_part_);
      piece = normalized_part_;
    }
    inner.clear();
    FindAddedTokens(piece, /*normalized_pass=*/true, &inner);
    for (const Segment& sub : inner) {
      if (sub.id.has_value()) {
        ids->push_back(*sub.id);
      } else {
        EncodeNormalized(piece.substr(sub.begin, sub.end - sub.begin),
                         part.begin == 0 && sub.begin == 0, ids);
      }
    }
  }
  ReleaseLargeScratch();
  return absl::OkStatus();
}

void Encoder::ReleaseLargeScratch() {
  auto release = [](auto& v) {
    using T = std::decay_t<decltype(v)>;
    if (v.capacity() * sizeof(typename T::value_type) > kKeptScratchBytes) T().swap(v);
  };
  release(pieces_);
  release(owned_pieces_);
  release(prefixed_);
  release(normalized_);
  release(normalized_part_);
  release(symbols_);
  release(ranks_);
  release(merged_);
  release(prev_);
  release(next_);
  release(buckets_);
}

void Encoder::EncodeNormalized(std::string_view text, bool at_origin, std::vector<TokenId>* ids) {
  const Tokenizer& t = *tokenizer_;
  if (text.empty()) return;
  if (!t.simple_) {
    t.pre_tokenizer_.Run(text, at_origin, &owned_pieces_);
    for (const std::string& piece : owned_pieces_) EncodePiece(piece, ids);
    return;
  }
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
  const Tokenizer& t = *tokenizer_;
  if (!t.cut_at_spaces_ || piece.size() <= Tokenizer::kSpaceMarker.size()) {
    EncodeWord(piece, ids);
    return;
  }
  size_t start = 0;
  for (size_t i = piece.find(Tokenizer::kSpaceMarker, 1); i != std::string_view::npos;
       i = piece.find(Tokenizer::kSpaceMarker, i + 1)) {
    char32_t before;
    DecodeLastUtf8(piece.substr(0, i), &before);
    if (before == Tokenizer::kSpaceMarkerCodePoint || t.glue_before_space_.contains(before)) {
      continue;
    }
    if (i > start) EncodeWord(piece.substr(start, i - start), ids);
    start = i;
  }
  EncodeWord(piece.substr(start), ids);
}

void Encoder::EncodeWord(std::string_view piece, std::vector<TokenId>* ids) {
  if (auto it = cache_.find(AsAbsl(piece)); it != cache_.end()) {
    ids->insert(ids->end(), arena_.begin() + it->second.first,
                arena_.begin() + it->second.first + it->second.second);
    return;
  }
  const size_t before = ids->size();
  MergeBytes(piece, ids);
  // Long pieces (whole documents, for a tokenizer without pre-tokenizer) rarely repeat: not
  // cached, so the cache stays small.
  constexpr size_t kMaxCachedPiece = 1024;
  if (piece.size() > kMaxCachedPiece) return;
  const size_t count = ids->size() - before;
  // A slot of the map (key, span, control byte) and the key's bytes beyond the string's own.
  constexpr size_t kEntryBytes = sizeof(std::string) + 2 * sizeof(uint32_t) + 1;
  const size_t bytes = kEntryBytes + piece.size() + count * sizeof(TokenId);
  if (cache_.size() >= max_cache_entries_ || cache_bytes_ + bytes > kMaxCacheBytes) {
    cache_.clear();
    arena_.clear();
    cache_bytes_ = 0;
  }
  cache_bytes_ += bytes;
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
  if (t.byte_level_ && t.continuing_subword_prefix_.empty() && t.end_of_word_suffix_.empty()) {
    symbols_.resize(piece.size());
    for (size_t i = 0; i < piece.size(); ++i) {
      symbols_[i] = t.byte_id_[static_cast<uint8_t>(piece[i])];
    }
  } else {
    Symbolize(piece);
  }
  const size_t n = symbols_.size();
  if (n <= 1) {
    if (n == 1) ids->push_back(symbols_[0]);
    return;
  }
  constexpr uint32_t kNoMerge = UINT32_MAX;
  if (n <= 128) {
    // Short pieces: keep each adjacent pair's rank and merge the lowest, leftmost first.
    std::vector<uint32_t>& ranks = ranks_;
    std::vector<TokenId>& merged = merged_;
    ranks.resize(n - 1);
    merged.resize(n - 1);
    auto set_rank = [&](size_t k) {
      const Tokenizer::Merge* m = t.FindMerge(symbols_[k], symbols_[k + 1]);
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
  // A long piece: a heap of its candidates no longer fits in cache, and every operation on it
  // misses; buckets by rank visit memory in order.
  if (n >= merge_by_rank_symbols_ && MergeByRank(ids)) return;
  MergeWithHeap(ids);
}

void Encoder::LinkSymbols() {
  const size_t n = symbols_.size();
  prev_.resize(n);
  next_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    prev_[i] = static_cast<int32_t>(i) - 1;
    next_[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
  }
}

void Encoder::JoinWithRight(int32_t pos, TokenId merged, std::vector<bool>* removed) {
  const int32_t right = next_[pos];
  symbols_[pos] = merged;
  (*removed)[right] = true;
  next_[pos] = next_[right];
  if (next_[right] >= 0) prev_[next_[right]] = pos;
}

void Encoder::MergeWithHeap(std::vector<TokenId>* ids) {
  // Linked symbols and a heap of candidate merges ordered by (rank, position), skipping stale
  // entries: the same order as Hugging Face's Word::merge_all, in O(n log n).
  const Tokenizer& t = *tokenizer_;
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    TokenId merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  const size_t n = symbols_.size();
  LinkSymbols();
  std::vector<bool> removed(n, false);
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  for (size_t k = 0; k + 1 < n; ++k) {
    if (const Tokenizer::Merge* m = t.FindMerge(symbols_[k], symbols_[k + 1])) {
      heap.push({m->rank, static_cast<int32_t>(k), m->merged});
    }
  }
  while (!heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    if (removed[top.pos]) continue;
    const int32_t right = next_[top.pos];
    if (right < 0) continue;
    const Tokenizer::Merge* m = t.FindMerge(symbols_[top.pos], symbols_[right]);
    if (m == nullptr || m->merged != top.merged || m->rank != top.rank) continue;
    JoinWithRight(top.pos, top.merged, &removed);
    if (prev_[top.pos] >= 0) {
      const int32_t left = prev_[top.pos];
      if (const Tokenizer::Merge* lm = t.FindMerge(symbols_[left], symbols_[top.pos])) {
        heap.push({lm->rank, left, lm->merged});
      }
    }
    if (next_[top.pos] >= 0) {
      if (const Tokenizer::Merge* rm = t.FindMerge(symbols_[top.pos], symbols_[next_[top.pos]])) {
        heap.push({rm->rank, top.pos, rm->merged});
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = next_[i]) ids->push_back(symbols_[i]);
}

bool Encoder::MergeByRank(std::vector<TokenId>* ids) {
  // Ranks are visited in ascending order, each bucket's positions sorted ascending: the order
  // of the heap, as long as no merge makes a candidate of a rank already visited (a trained
  // merge list only builds on earlier merges, so the pairs a merge creates rank later).
  const Tokenizer& t = *tokenizer_;
  const size_t n = symbols_.size();
  const std::vector<TokenId> original = symbols_;  // to hand back on failure
  LinkSymbols();
  for (std::vector<int32_t>& b : buckets_) b.clear();
  auto push = [&](uint32_t rank, int32_t pos) {
    if (rank >= buckets_.size()) buckets_.resize(rank + 1);
    buckets_[rank].push_back(pos);
  };
  for (size_t k = 0; k + 1 < n; ++k) {
    if (const Tokenizer::Merge* m = t.FindMerge(symbols_[k], symbols_[k + 1])) {
      push(m->rank, static_cast<int32_t>(k));
    }
  }
  std::vector<bool> removed(n, false);
  bool ordered = true;
  for (uint32_t rank = 0; rank < buckets_.size() && ordered; ++rank) {
    std::vector<int32_t>& positions = buckets_[rank];
    if (positions.empty()) continue;
    std::sort(positions.begin(), positions.end());
    for (int32_t pos : positions) {
      if (removed[pos]) continue;
      const int32_t right = next_[pos];
      if (right < 0) continue;
      const Tokenizer::Merge* m = t.FindMerge(symbols_[pos], symbols_[right]);
      if (m == nullptr || m->rank != rank) continue;
      JoinWithRight(pos, m->merged, &removed);
      if (prev_[pos] >= 0) {
        const int32_t left = prev_[pos];
        if (const Tokenizer::Merge* lm = t.FindMerge(symbols_[left], symbols_[pos])) {
          ordered = ordered && lm->rank > rank;
          push(lm->rank, left);
        }
      }
      if (next_[pos] >= 0) {
        if (const Tokenizer::Merge* rm = t.FindMerge(symbols_[pos], symbols_[next_[pos]])) {
          ordered = ordered && rm->rank > rank;
          push(rm->rank, pos);
        }
      }
      if (!ordered) break;
    }
    positions.clear();  // done with this rank (its capacity serves the next text)
  }
  if (!ordered) {
    for (std::vector<int32_t>& b : buckets_) b.clear();
    symbols_ = original;
    return false;
  }
  for (int32_t i = 0; i >= 0; i = next_[i]) ids->push_back(symbols_[i]);
  return true;
}

void Encoder::Symbolize(std::string_view piece) {
  // Hugging Face's BPE::merge_word: each unit (a byte for byte-level vocabularies, else a
  // character), with the continuing-subword prefix unless first and the end-of-word suffix if
  // last, is a token if the vocabulary has it; else its bytes' "<0xHH>" tokens (byte_fallback,
  // when all exist); else unk (consecutive unks fused into one with fuse_unk); else dropped.
  const Tokenizer& t = *tokenizer_;
  symbols_.clear();
  bool pending_unk = false;
  std::string unit;
  for (size_t i = 0; i < piece.size();) {
    size_t len = 1;
    if (!t.byte_level_) {
      char32_t cp;
      len = std::max<size_t>(DecodeUtf8(piece.substr(i), &cp), 1);
    }
    const bool first = i == 0, last = i + len == piece.size();
    unit.clear();
    if (!first) unit += t.continuing_subword_prefix_;
    unit.append(piece.substr(i, len));
    if (last) unit += t.end_of_word_suffix_;
    i += len;
    if (auto it = t.bytes_to_id_.find(AsAbsl(unit)); it != t.bytes_to_id_.end()) {
      if (pending_unk) symbols_.push_back(*t.unk_id_);
      pending_unk = false;
      symbols_.push_back(it->second);
      continue;
    }
    if (t.byte_fallback_) {
      bool all = true;
      for (char c : unit) all &= t.fallback_id_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        // As Hugging Face: a pending unk stays pending across byte-fallback tokens.
        for (char c : unit) {
          symbols_.push_back(static_cast<TokenId>(t.fallback_id_[static_cast<uint8_t>(c)]));
        }
        continue;
      }
    }
    if (t.unk_id_.has_value()) {
      if (pending_unk && !t.fuse_unk_) symbols_.push_back(*t.unk_id_);
      pending_unk = true;
    }
  }
  if (pending_unk) symbols_.push_back(*t.unk_id_);
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
