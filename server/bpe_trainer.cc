#include "server/bpe_trainer.h"

#include <algorithm>
#include <array>
#include <queue>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/json_writer.h"
#include "common/pre_tokenizer.h"
#include "common/tokenizer.h"

namespace shardstream {
namespace {

uint64_t Key(uint32_t a, uint32_t b) { return (uint64_t{a} << 32) | b; }

// A candidate merge as Hugging Face queues it: its count when queued, and the words to merge
// it in. Popped by highest count, then lowest pair.
struct Candidate {
  int64_t count;
  uint32_t a, b;
  std::vector<uint32_t> words;
};
struct Lower {
  bool operator()(const Candidate& x, const Candidate& y) const {
    if (x.count != y.count) return x.count < y.count;
    return std::tie(x.a, x.b) > std::tie(y.a, y.b);
  }
};

}  // namespace

absl::Status BpeTrainerOptions::Validate() const {
  if (vocab_size < special_tokens.size() + (full_alphabet ? 256 : 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--vocab-size must hold the special tokens and the alphabet: at least ",
                     special_tokens.size() + (full_alphabet ? 256 : 1)));
  }
  return absl::OkStatus();
}

void WordCounter::AddText(std::string_view text) {
  pieces_.clear();
  PreTokenize(SplitPattern::kGpt2, text, &pieces_);
  for (std::string_view piece : pieces_) ++counts_[absl::string_view(piece.data(), piece.size())];
}

void WordCounter::Merge(WordCounter&& other) {
  if (counts_.empty()) {
    counts_ = std::move(other.counts_);
    return;
  }
  for (auto& [word, count] : other.counts_) counts_[word] += count;
}

absl::StatusOr<TrainedBpe> TrainBpe(const absl::flat_hash_map<std::string, uint64_t>& words,
                                    const BpeTrainerOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  TrainedBpe out;
  // 1. Special tokens, then the 256 byte-level characters in code point order.
  absl::flat_hash_map<std::string, uint32_t> ids;  // token bytes → id
  for (const std::string& special : options.special_tokens) {
    if (ids.contains(special)) continue;
    ids[special] = static_cast<uint32_t>(out.vocab.size());
    out.vocab.push_back(special);
  }
  out.num_special = out.vocab.size();
  std::vector<uint8_t> bytes;
  {
    std::array<bool, 256> seen{};
    for (const auto& [word, count] : words) {
      for (char c : word) seen[static_cast<uint8_t>(c)] = true;
    }
    for (int b = 0; b < 256; ++b) {
      if (options.full_alphabet || seen[b]) bytes.push_back(static_cast<uint8_t>(b));
    }
  }
  std::sort(bytes.begin(), bytes.end(),
            [](uint8_t x, uint8_t y) { return ByteToUnicode()[x] < ByteToUnicode()[y]; });
  std::array<uint32_t, 256> byte_id{};
  for (uint8_t b : bytes) {
    // Like Hugging Face, a byte whose character is already a token (a one-character special)
    // keeps that id.
    const std::string one(1, static_cast<char>(b));
    auto [it, inserted] = ids.try_emplace(one, static_cast<uint32_t>(out.vocab.size()));
    if (inserted) out.vocab.push_back(one);
    byte_id[b] = it->second;
  }
  // 2. Words as symbol ids.
  std::vector<std::vector<uint32_t>> symbols;
  std::vector<int64_t> counts;
  symbols.reserve(words.size());
  counts.reserve(words.size());
  for (const auto& [word, count] : words) {
    std::vector<uint32_t>& w = symbols.emplace_back();
    w.reserve(word.size());
    for (char c : word) w.push_back(byte_id[static_cast<uint8_t>(c)]);
    counts.push_back(static_cast<int64_t>(count));
  }
  // 3. Pair counts and where each pair occurs.
  absl::flat_hash_map<uint64_t, int64_t> pair_counts;
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> where;
  for (uint32_t i = 0; i < symbols.size(); ++i) {
    const std::vector<uint32_t>& w = symbols[i];
    for (size_t k = 0; k + 1 < w.size(); ++k) {
      const uint64_t key = Key(w[k], w[k + 1]);
      pair_counts[key] += counts[i];
      std::vector<uint32_t>& pos = where[key];
      if (pos.empty() || pos.back() != i) pos.push_back(i);
    }
  }
  std::priority_queue<Candidate, std::vector<Candidate>, Lower> queue;
  auto enqueue = [&](absl::flat_hash_map<uint64_t, std::vector<uint32_t>>& pending) {
    for (auto& [key, pos] : pending) {
      const int64_t count = pair_counts[key];
      if (count > 0) {
        queue.push(Candidate{count, static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key),
                             std::move(pos)});
      }
    }
    pending.clear();
  };
  enqueue(where);

  // 4. Merges: the most frequent pair (then the lowest ids), until the vocabulary is full.
  std::vector<std::pair<uint32_t, uint32_t>> merge_log;
  std::vector<std::pair<std::pair<uint64_t, int64_t>, uint32_t>> changes;  // ((pair, delta), word)
  while (ids.size() < options.vocab_size && !queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    const uint64_t top_key = Key(top.a, top.b);
    const int64_t current = pair_counts[top_key];
    if (top.count != current) {  // queued with an older count: requeue with the current one
      top.count = current;
      queue.push(std::move(top));
      continue;
    }
    if (top.count < 1 || static_cast<uint64_t>(top.count) < options.min_frequency) break;
    const std::string token = out.vocab[top.a] + out.vocab[top.b];
    auto [it, inserted] = ids.try_emplace(token, static_cast<uint32_t>(out.vocab.size()));
    if (inserted) out.vocab.push_back(token);
    const uint32_t new_id = it->second;
    merge_log.emplace_back(top.a, top.b);
    // Merge in each listed word, left to right, recording the pair changes.
    changes.clear();
    for (uint32_t i : top.words) {
      std::vector<uint32_t>& w = symbols[i];
      for (size_t k = 0; k + 1 < w.size(); ++k) {
        if (w[k] != top.a || w[k + 1] != top.b) continue;
        if (k > 0) {
          changes.push_back({{Key(w[k - 1], top.a), -1}, i});
          changes.push_back({{Key(w[k - 1], new_id), +1}, i});
        }
        w[k] = new_id;
        w.erase(w.begin() + static_cast<ptrdiff_t>(k) + 1);
        if (k + 1 < w.size()) {
          changes.push_back({{Key(top.b, w[k + 1]), -1}, i});
          changes.push_back({{Key(new_id, w[k + 1]), +1}, i});
        }
      }
    }
    absl::flat_hash_map<uint64_t, std::vector<uint32_t>> pending;
    for (const auto& [change, i] : changes) {
      pair_counts[change.first] += change.second * counts[i];
      if (change.second > 0) {
        std::vector<uint32_t>& pos = pending[change.first];
        if (pos.empty() || pos.back() != i) pos.push_back(i);
      }
    }
    enqueue(pending);
  }
  // A pair merged twice keeps its last rank (Hugging Face's merge map), listed by rank.
  absl::flat_hash_map<uint64_t, uint32_t> rank;
  for (uint32_t r = 0; r < merge_log.size(); ++r) {
    rank[Key(merge_log[r].first, merge_log[r].second)] = r;
  }
  for (uint32_t r = 0; r < merge_log.size(); ++r) {
    if (rank[Key(merge_log[r].first, merge_log[r].second)] == r) out.merges.push_back(merge_log[r]);
  }
  return out;
}

std::string TrainedBpe::ToTokenizerJson() const {
  JsonWriter w;
  auto byte_level = [&w](bool prefix) {
    w.BeginObject();
    w.Key("type");
    w.String("ByteLevel");
    w.Key("add_prefix_space");
    w.Bool(prefix);
    w.Key("trim_offsets");
    w.Bool(true);
    w.Key("use_regex");
    w.Bool(true);
    w.EndObject();
  };
  auto token_text = [this](uint32_t id) {
    return id < num_special ? vocab[id] : ByteLevelEncode(vocab[id]);
  };
  w.BeginObject();
  w.Key("version");
  w.String("1.0");
  w.Key("truncation");
  w.Null();
  w.Key("padding");
  w.Null();
  w.Key("added_tokens");
  w.BeginArray();
  for (uint32_t id = 0; id < num_special; ++id) {
    w.BeginObject();
    w.Key("id");
    w.Uint(id);
    w.Key("content");
    w.String(vocab[id]);
    for (const char* flag : {"single_word", "lstrip", "rstrip", "normalized"}) {
      w.Key(flag);
      w.Bool(false);
    }
    w.Key("special");
    w.Bool(true);
    w.EndObject();
  }
  w.EndArray();
  w.Key("normalizer");
  w.Null();
  w.Key("pre_tokenizer");
  byte_level(false);
  w.Key("post_processor");
  w.Null();
  w.Key("decoder");
  byte_level(true);
  w.Key("model");
  w.BeginObject();
  w.Key("type");
  w.String("BPE");
  for (const char* key :
       {"dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"}) {
    w.Key(key);
    w.Null();
  }
  for (const char* key : {"fuse_unk", "byte_fallback", "ignore_merges"}) {
    w.Key(key);
    w.Bool(false);
  }
  w.Key("vocab");
  w.BeginObject();
  for (uint32_t id = 0; id < vocab.size(); ++id) {
    w.Key(token_text(id));
    w.Uint(id);
  }
  w.EndObject();
  w.Key("merges");
  w.BeginArray();
  for (const auto& [a, b] : merges) {
    w.BeginArray();
    w.String(token_text(a));
    w.String(token_text(b));
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return w.str() + "\n";
}

}  // namespace shardstream
