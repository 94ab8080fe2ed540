// Byte-level BPE training with the same result as Hugging Face's BpeTrainer: same vocabulary
// ids, same merges in the same order (docs/tokenizer.md, "Training").
#ifndef SHARDSTREAM_SERVER_BPE_TRAINER_H_
#define SHARDSTREAM_SERVER_BPE_TRAINER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace shardstream {

struct BpeTrainerOptions {
  size_t vocab_size = 32768;   // special tokens + 256 bytes + merges
  uint64_t min_frequency = 0;  // stop when the best pair occurs fewer times
  std::vector<std::string> special_tokens = {"<|endoftext|>"};  // ids 0, 1, ... in this order
  // true: all 256 byte-level characters start the vocabulary (initial_alphabet =
  // ByteLevel.alphabet(), the CodeParrot recipe); false: only the bytes the words contain
  // (Hugging Face's default trainer).
  bool full_alphabet = true;
  absl::Status Validate() const;
};

// The trained model: ids and merges as raw bytes.
struct TrainedBpe {
  std::vector<std::string> vocab;                     // id → token bytes (specials as text)
  size_t num_special = 0;                             // ids [0, num_special) are specials
  std::vector<std::pair<uint32_t, uint32_t>> merges;  // in rank order, each pair once

  // A Hugging Face tokenizer.json (ByteLevel pre-tokenizer without prefix space, ByteLevel
  // decoder, specials as added tokens) that this project and Hugging Face load.
  std::string ToTokenizerJson() const;
};

// Word counts: each pre-token (raw bytes) and how often it occurs. Add documents with
// AddText(), or merge counters built on other threads with Merge(). Not thread-safe.
class WordCounter {
 public:
  // Pre-tokenizes `text` (valid UTF-8) with the GPT-2 regex and counts its pieces.
  void AddText(std::string_view text);
  void Merge(WordCounter&& other);
  const absl::flat_hash_map<std::string, uint64_t>& counts() const { return counts_; }

 private:
  absl::flat_hash_map<std::string, uint64_t> counts_;
  std::vector<std::string_view> pieces_;
};

// Trains on `words`. INVALID_ARGUMENT for bad options.
absl::StatusOr<TrainedBpe> TrainBpe(const absl::flat_hash_map<std::string, uint64_t>& words,
                                    const BpeTrainerOptions& options);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_BPE_TRAINER_H_
