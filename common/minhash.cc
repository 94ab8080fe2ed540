#include "common/minhash.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#define XXH_INLINE_ALL  // header-only, like hash128 and part_key: no libxxhash at run time
#include <xxhash.h>

namespace shardstream {
namespace {

// 0: separator, 1: word byte, 2: uppercase word byte.
constexpr std::array<uint8_t, 256> kByteClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  t['_'] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 2;
  return t;
}();

// Calls fn(word) for each word of `text`, lowercased (into `buffer` when it has capitals).
template <typename Fn>
void ForEachWord(std::string_view text, std::string* buffer, Fn fn) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    while (i < n && kByteClass[p[i]] == 0) ++i;
    if (i == n) break;
    const size_t start = i;
    uint8_t classes = 0;
    while (i < n && kByteClass[p[i]] != 0) classes |= kByteClass[p[i++]];
    std::string_view word = text.substr(start, i - start);
    if (classes & 2) {
      buffer->assign(word);
      for (char& c : *buffer) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      word = *buffer;
    }
    fn(word);
  }
}

static_assert(std::endian::native == std::endian::little,
              "word hashes read 8-byte chunks as little-endian numbers");

constexpr uint64_t kCaseBits = 0x2020202020202020ull;

uint64_t Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The hash of the word p[0, len), lowercased by setting bit 0x20 of every byte (which maps
// 'A'-'Z' to 'a'-'z', keeps 'a'-'z' and '0'-'9', and maps '_' to 0x7f: equal after
// lowercasing iff equal after this). Reads 8 bytes at a time, never at or past `end`.
uint64_t HashWordBytes(const unsigned char* p, size_t len, const unsigned char* end) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, p + i, 8);
    h = (h ^ (chunk | kCaseBits)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  if (i < len) {
    const size_t rest = len - i;
    const uint64_t keep = ~uint64_t{0} >> (64 - 8 * rest);
    uint64_t chunk = 0;
    if (p + i + 8 <= end) {
      std::memcpy(&chunk, p + i, 8);
    } else {
      std::memcpy(&chunk, p + i, rest);
    }
    h = (h ^ ((chunk | kCaseBits) & keep)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  // No finalizer: each step is a bijection of the chunk, so words of up to 8 bytes never
  // collide, and shingle hashes mix again.
  return h;
}

// The hash of one shingle: its n words' hashes, mixed in order, then finalized.
uint64_t ShingleHash(const uint64_t* words, size_t n, uint64_t seed) {
  uint64_t h = seed ^ (0x9e3779b97f4a7c15ull * n);
  for (size_t i = 0; i < n; ++i) {
    h = (h ^ words[i]) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  return Finalize(h);
}

// Bit i of the result: byte i of `text` is a word byte ([A-Za-z0-9_]). 16 bytes at a time
// with SSE2 (every x86-64 has it).
void WordByteMask(std::string_view text, std::vector<uint64_t>* mask) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  mask->assign((n + 63) / 64, 0);
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i case_bits = _mm_set1_epi8(0x20), a = _mm_set1_epi8('a'), zero = _mm_set1_epi8('0'),
                underscore = _mm_set1_epi8('_'), max_letter = _mm_set1_epi8(25),
                max_digit = _mm_set1_epi8(9);
  for (; i + 16 <= n; i += 16) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Unsigned range checks: x in [0, k] iff min(x, k) == x.
    const __m128i letter = _mm_sub_epi8(_mm_or_si128(c, case_bits), a);
    const __m128i digit = _mm_sub_epi8(c, zero);
    const __m128i word =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(letter, max_letter), letter),
                                  _mm_cmpeq_epi8(_mm_min_epu8(digit, max_digit), digit)),
                     _mm_cmpeq_epi8(c, underscore));
    const uint64_t bits = static_cast<uint32_t>(_mm_movemask_epi8(word));
    (*mask)[i >> 6] |= bits << (i & 63);
  }
#endif
  for (; i < n; ++i) {
    if (kByteClass[p[i]] != 0) (*mask)[i >> 6] |= uint64_t{1} << (i & 63);
  }
}

// Calls fn(hash) for each word of `text`, in order: the hash of its lowercased bytes, equal
// to WordHash(word) for ForEachWord's words.
template <typename Fn>
void ForEachWordHash(std::string_view text, std::vector<uint64_t>* mask, Fn fn) {
  WordByteMask(text, mask);
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  const size_t words = mask->size();
  size_t w = 0;
  uint64_t bits = words > 0 ? (*mask)[0] : 0;  // word bytes at or after the position
  while (true) {
    while (bits == 0) {
      if (++w >= words) return;
      bits = (*mask)[w];
    }
    const size_t start = (w << 6) + std::countr_zero(bits);
    // The run ends at the first clear bit after start.
    uint64_t clear = ~(*mask)[w] & (~uint64_t{0} << (start & 63));
    while (clear == 0 && ++w < words) clear = ~(*mask)[w];
    const size_t stop =
        w < words ? std::min(text.size(), (w << 6) + std::countr_zero(clear)) : text.size();
    fn(HashWordBytes(p + start, stop - start, end));
    if (w >= words) return;
    bits = (*mask)[w] & (~uint64_t{0} << (stop & 63));  // stop lies in word w
  }
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

absl::Status MinHashParams::Validate() const {
  if (permutations < 16 || permutations > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("--permutations must be in [16, 1024], got ", permutations));
  }
  if (ngram < 1 || ngram > 32) {
    return absl::InvalidArgumentError(absl::StrCat("--ngram must be in [1, 32], got ", ngram));
  }
  return absl::OkStatus();
}

Hash128 MinHashParams::Fingerprint() const {
  Hasher128 h;
  h.UpdateString("shardstream.minhash");
  h.UpdateU64(kNearDedupAlgorithmVersion);
  h.UpdateU64(permutations);
  h.UpdateU64(ngram);
  h.UpdateU64(seed);
  return h.Digest();
}

uint64_t WordHash(std::string_view lowercased_word) {
  const auto* p = reinterpret_cast<const unsigned char*>(lowercased_word.data());
  return HashWordBytes(p, lowercased_word.size(), p + lowercased_word.size());
}

std::vector<uint64_t> WordHashes(std::string_view text) {
  std::vector<uint64_t> mask, out;
  ForEachWordHash(text, &mask, [&](uint64_t h) { out.push_back(h); });
  return out;
}

std::vector<std::string> ShingleWords(std::string_view text) {
  std::vector<std::string> words;
  std::string buffer;
  ForEachWord(text, &buffer, [&](std::string_view w) { words.emplace_back(w); });
  return words;
}

std::vector<std::string> Shingles(std::string_view text, uint32_t ngram) {
  const std::vector<std::string> words = ShingleWords(text);
  std::vector<std::string> out;
  if (words.empty()) return out;
  const size_t n = std::min<size_t>(ngram, words.size());
  for (size_t i = 0; i + n <= words.size(); ++i) {
    std::string s = words[i];
    for (size_t j = 1; j < n; ++j) absl::StrAppend(&s, " ", words[i + j]);
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

MinHasher::MinHasher(const MinHashParams& params) : params_(params) {
  const uint32_t k = params.permutations;
  mins_.resize(k);
  // Densification order: for every bin i, all bins by a pseudo-random rank, i itself first.
  order_.resize(size_t{k} * k);
  rank_by_bin_.resize(size_t{k} * k);
  best_.resize(k);
  std::vector<std::pair<uint64_t, uint32_t>> ranked(k);
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t j = 0; j < k; ++j) {
      uint64_t state = params.seed ^ (uint64_t{i} << 32) ^ j;
      ranked[j] = {j == i ? 0 : SplitMix64(&state) | 1, j};
    }
    std::sort(ranked.begin(), ranked.end());
    for (uint32_t t = 0; t < k; ++t) {
      order_[size_t{i} * k + t] = static_cast<uint16_t>(ranked[t].second);
      rank_by_bin_[size_t{ranked[t].second} * k + i] = static_cast<uint16_t>(t);
    }
  }
}

template <typename Fn>
bool MinHasher::ForEachShingleHash(std::string_view text, Fn fn) {
  word_hashes_.clear();
  ForEachWordHash(text, &mask_, [&](uint64_t h) { word_hashes_.push_back(h); });
  if (word_hashes_.empty()) return false;
  // A shingle's hash: of its words' hashes, which lie next to each other.
  const size_t n = std::min<size_t>(params_.ngram, word_hashes_.size());
  for (size_t i = 0; i + n <= word_hashes_.size(); ++i) {
    fn(ShingleHash(&word_hashes_[i], n, params_.seed));
  }
  return true;
}

bool MinHasher::Sign(std::string_view text, std::vector<uint16_t>* out) {
  out->clear();
  constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  const uint32_t k = params_.permutations;
  std::fill(mins_.begin(), mins_.end(), kEmpty);
  // One permutation: a shingle's hash picks its bin with the high bits and competes there
  // with the low 32 bits. Equal shingles give equal hashes, so repeated shingles (a set)
  // change nothing.
  const bool has_words = ForEachShingleHash(text, [&](uint64_t h) {
    const uint32_t bin = static_cast<uint32_t>((static_cast<unsigned __int128>(h) * k) >> 64);
    const uint32_t value = static_cast<uint32_t>(h) & (kEmpty - 1);  // never kEmpty
    mins_[bin] = std::min(mins_[bin], value);
  });
  if (!has_words) return false;
  // Densification: an empty bin takes the value of the first non-empty bin in its own fixed
  // pseudo-random order of all bins (the same order for every text). As for Shrivastava's
  // optimal densification, whose probe sequences this replaces by orders without repeats,
  // P(equal values) stays the Jaccard similarity for every bin: the first bin of the order
  // that is non-empty in A ∪ B holds the union's minimum, which both sets take iff it is in
  // A ∩ B. The first non-empty bin is found by walking the order (dense texts) or as the
  // non-empty bin of smallest rank (sparse ones): the same bin, in at most √k steps a bin.
  nonempty_.clear();
  for (uint32_t i = 0; i < k; ++i) {
    if (mins_[i] != kEmpty) nonempty_.push_back(i);
  }
  const bool sparse = nonempty_.size() * nonempty_.size() <= k;
  if (sparse) {
    // For every bin at once: the non-empty bin of smallest rank in its order, as
    // min(rank << 16 | bin) over the non-empty bins (a vectorized pass per non-empty bin).
    std::fill(best_.begin(), best_.end(), std::numeric_limits<uint32_t>::max());
    for (uint32_t j : nonempty_) {
      const uint16_t* rank = &rank_by_bin_[size_t{j} * k];
      for (uint32_t i = 0; i < k; ++i) best_[i] = std::min(best_[i], (uint32_t{rank[i]} << 16) | j);
    }
  }
  out->resize(k);
  for (uint32_t i = 0; i < k; ++i) {
    uint32_t source = i;
    if (mins_[i] == kEmpty && sparse) {
      source = best_[i] & 0xffff;
    } else if (mins_[i] == kEmpty) {
      const uint16_t* order = &order_[size_t{i} * k];
      size_t t = 1;
      while (mins_[order[t]] == kEmpty) ++t;
      source = order[t];
    }
    (*out)[i] = static_cast<uint16_t>(mins_[source]);
  }
  return true;
}

void MinHasher::ShingleSet(std::string_view text, std::vector<uint64_t>* out) {
  out->clear();
  ForEachShingleHash(text, [&](uint64_t h) { out->push_back(h); });
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
}

double ExactJaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  size_t common = 0;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      ++common;
      ++i;
      ++j;
    }
  }
  const size_t all = a.size() + b.size() - common;
  return all == 0 ? 1.0 : static_cast<double>(common) / static_cast<double>(all);
}

double EstimatedJaccard(const uint16_t* a, const uint16_t* b, size_t permutations) {
  size_t equal = 0;
  for (size_t i = 0; i < permutations; ++i) equal += a[i] == b[i];
  // P(equal) = J + (1 - J) / 65536, so J = (P - 1/65536) / (1 - 1/65536).
  constexpr double kChance = 1.0 / 65536;
  const double p = static_cast<double>(equal) / static_cast<double>(permutations);
  return std::clamp((p - kChance) / (1 - kChance), 0.0, 1.0);
}

double CandidateProbability(double s, const LshBands& bands) {
  return 1 - std::pow(1 - std::pow(s, bands.rows), bands.bands);
}

LshBands OptimalBands(double threshold, uint32_t permutations, double false_negative_weight) {
  // Composite Simpson over [lo, hi] with 64 intervals: smooth integrands, error < 1e-6.
  auto integrate = [](auto f, double lo, double hi) {
    constexpr int kIntervals = 64;
    const double h = (hi - lo) / kIntervals;
    double sum = f(lo) + f(hi);
    for (int i = 1; i < kIntervals; ++i) sum += f(lo + i * h) * (i % 2 == 1 ? 4 : 2);
    return sum * h / 3;
  };
  LshBands best;
  double best_error = std::numeric_limits<double>::infinity();
  for (uint32_t b = 1; b <= permutations; ++b) {
    for (uint32_t r = 1; r <= permutations / b; ++r) {
      const LshBands candidate{b, r};
      const double false_positives =
          integrate([&](double s) { return CandidateProbability(s, candidate); }, 0.0, threshold);
      const double false_negatives = integrate(
          [&](double s) { return 1 - CandidateProbability(s, candidate); }, threshold, 1.0);
      const double error =
          (1 - false_negative_weight) * false_positives + false_negative_weight * false_negatives;
      if (error < best_error) {
        best_error = error;
        best = candidate;
      }
    }
  }
  return best;
}

uint64_t BandHash(const uint16_t* signature, const LshBands& bands, uint32_t band) {
  return XXH3_64bits_withSeed(signature + static_cast<size_t>(band) * bands.rows,
                              bands.rows * sizeof(uint16_t), band);
}

}  // namespace shardstream
