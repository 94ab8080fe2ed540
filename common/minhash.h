// MinHash signatures and LSH banding for near-duplicate detection (docs/dedup.md), pure and
// deterministic: the same text and parameters give the same signature on every machine.
//
// Shingles follow BigCode's near-deduplication of The Stack: the text is split on every byte
// that is not an ASCII letter, digit or '_' (so non-ASCII characters separate words, as
// BigCode's `[^A-Za-z_0-9]` regex does), words are lowercased, and a shingle is `ngram`
// consecutive words. Unlike BigCode's `re.split`, empty words are not kept, so runs of
// punctuation and whitespace do not change the shingles. A text with fewer words than `ngram`
// has one shingle (all its words); a text without words has none and no signature.
//
// A signature is k = `permutations` values computed by one permutation hashing with optimal
// densification (Li, Owen & Zhang 2012; Shrivastava 2017): each shingle is hashed once, the
// hash picks one of k bins, each bin keeps the minimum, and an empty bin borrows from the first
// non-empty bin in its own fixed pseudo-random order of the bins. Like k independent MinHash
// permutations, P(value i of two texts is equal) = their Jaccard similarity, so estimates and LSH
// bands work the same way, at one hash per shingle instead of k. Values keep the low 16 bits of the
// minimum (b-bit minwise hashing, b = 16; the estimate is corrected for the 2^-16 chance
// collisions).
#ifndef SHARDSTREAM_COMMON_MINHASH_H_
#define SHARDSTREAM_COMMON_MINHASH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/hash128.h"

namespace shardstream {

// Version of the shingling, hashing and clustering: part of every near-dedup fingerprint.
// Bump it whenever a signature or a clustering decision could change for the same input.
inline constexpr uint32_t kNearDedupAlgorithmVersion = 1;

struct MinHashParams {
  uint32_t permutations = 256;  // values per signature (BigCode's 256 permutations), [16, 1024]
  uint32_t ngram = 5;           // words per shingle, in [1, 32]
  uint64_t seed = 42;           // of the hash functions

  absl::Status Validate() const;
  // Covers everything a signature depends on (and kNearDedupAlgorithmVersion).
  Hash128 Fingerprint() const;
};

// The hashes of a text's words as signatures use them (a vectorized word scan), and the hash
// of one lowercased word: WordHashes(t) is WordHash of each of ShingleWords(t).
std::vector<uint64_t> WordHashes(std::string_view text);
uint64_t WordHash(std::string_view lowercased_word);

// The words and shingles of a text, exactly as signatures see them; for tests and reports.
std::vector<std::string> ShingleWords(std::string_view text);
std::vector<std::string> Shingles(std::string_view text, uint32_t ngram);

// Computes signatures; reusable buffers, so one per thread. Not thread-safe.
class MinHasher {
 public:
  explicit MinHasher(const MinHashParams& params);

  // The signature of `text` into `out` (params.permutations values); false when the text has no
  // words (then `out` is left empty).
  bool Sign(std::string_view text, std::vector<uint16_t>* out);
  // The hashes of the text's shingles, sorted and unique: the set a signature summarizes, for
  // exact Jaccard similarities (ExactJaccard).
  void ShingleSet(std::string_view text, std::vector<uint64_t>* out);

 private:
  // Calls fn(hash) for each shingle of `text` (repeats included); false when it has no words.
  template <typename Fn>
  bool ForEachShingleHash(std::string_view text, Fn fn);

  const MinHashParams params_;
  std::vector<uint32_t> mins_;  // per bin, during Sign
  // Densification: per bin i, all bins in i's pseudo-random order (order_[i·k + t]) and, per
  // bin j, its position in every bin's order (rank_by_bin_[j·k + i]); k × k each.
  std::vector<uint16_t> order_, rank_by_bin_;
  std::vector<uint32_t> nonempty_, best_;
  std::vector<uint64_t> word_hashes_;  // of the text's words, during Sign
  std::vector<uint64_t> mask_;         // word bytes of the text, during Sign
};

// The Jaccard similarity two signatures estimate: matching positions, corrected for the chance
// (2^-16) that two different 16-bit minima match. Same length required.
double EstimatedJaccard(const uint16_t* a, const uint16_t* b, size_t permutations);

// |a ∩ b| / |a ∪ b| of two sorted, unique sets (ShingleSet); 1 when both are empty.
double ExactJaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

// LSH banding: the signature cut into `bands` bands of `rows` values; two documents are
// candidates when one band is equal. P(candidate | Jaccard s) = 1 - (1 - s^rows)^bands.
struct LshBands {
  uint32_t bands = 0;
  uint32_t rows = 0;
};
// The (bands, rows) with bands × rows ≤ permutations that minimises the weighted sum of the
// false-positive probability mass below `threshold` and the false-negative mass above it
// (datasketch's MinHashLSH choice, which weighs both 0.5), by numeric integration. The default
// weighs misses 0.7: candidates near the threshold are verified on their texts, so a spurious
// candidate costs a comparison and a missed one a duplicate.
LshBands OptimalBands(double threshold, uint32_t permutations, double false_negative_weight = 0.7);
// The probability that a pair of Jaccard similarity `s` becomes a candidate.
double CandidateProbability(double s, const LshBands& bands);
// The hash of band `band` of a signature; equal bands give equal hashes.
uint64_t BandHash(const uint16_t* signature, const LshBands& bands, uint32_t band);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_MINHASH_H_
