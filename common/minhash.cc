#include "common/minhash.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "xxhash.h"

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
  mins_.resize(params.permutations);
}

bool MinHasher::Sign(std::string_view text, std::vector<uint16_t>* out) {
  out->clear();
  word_hashes_.clear();
  std::string buffer;
  ForEachWord(text, &buffer, [&](std::string_view w) {
    word_hashes_.push_back(XXH3_64bits(w.data(), w.size()));
  });
  if (word_hashes_.empty()) return false;
  constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  const uint32_t k = params_.permutations;
  std::fill(mins_.begin(), mins_.end(), kEmpty);
  const size_t n = std::min<size_t>(params_.ngram, word_hashes_.size());
  // One permutation: a shingle's hash (of its words' hashes, which lie next to each other)
  // picks its bin with the high bits and competes there with the low 32 bits. Equal shingles
  // give equal hashes, so repeated shingles (a set) change nothing.
  for (size_t i = 0; i + n <= word_hashes_.size(); ++i) {
    const uint64_t h = XXH3_64bits_withSeed(&word_hashes_[i], n * sizeof(uint64_t), params_.seed);
    const uint32_t bin = static_cast<uint32_t>((static_cast<unsigned __int128>(h) * k) >> 64);
    const uint32_t value = static_cast<uint32_t>(h) & (kEmpty - 1);  // never kEmpty
    mins_[bin] = std::min(mins_[bin], value);
  }
  // Optimal densification: an empty bin takes the value of the first non-empty bin of its own
  // pseudo-random probe sequence (the same sequence for every text), which keeps
  // P(equal values) = Jaccard for every bin.
  out->resize(k);
  for (uint32_t bin = 0; bin < k; ++bin) {
    uint32_t source = bin;
    for (uint64_t attempt = 1; mins_[source] == kEmpty; ++attempt) {
      uint64_t state = params_.seed ^ (uint64_t{bin} << 32) ^ attempt;
      source = static_cast<uint32_t>(
          (static_cast<unsigned __int128>(SplitMix64(&state)) * k) >> 64);
    }
    (*out)[bin] = static_cast<uint16_t>(mins_[source]);
  }
  return true;
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

LshBands OptimalBands(double threshold, uint32_t permutations) {
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
      const double false_positives = integrate(
          [&](double s) { return CandidateProbability(s, candidate); }, 0.0, threshold);
      const double false_negatives = integrate(
          [&](double s) { return 1 - CandidateProbability(s, candidate); }, threshold, 1.0);
      const double error = 0.5 * false_positives + 0.5 * false_negatives;
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
