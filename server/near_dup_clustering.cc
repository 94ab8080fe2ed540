#include "server/near_dup_clustering.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {
namespace {

// Union–find whose root is always the smallest member: the cluster's representative.
class MinRootSets {
 public:
  explicit MinRootSets(uint32_t n) : parent_(n) {
    for (uint32_t i = 0; i < n; ++i) parent_[i] = i;
  }
  uint32_t Find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];  // path halving
      x = parent_[x];
    }
    return x;
  }
  void Union(uint32_t a, uint32_t b) {
    a = Find(a);
    b = Find(b);
    if (a < b) {
      parent_[b] = a;
    } else if (b < a) {
      parent_[a] = b;
    }
  }

 private:
  std::vector<uint32_t> parent_;
};

// A band entry: the high 32 bits of the band's hash (seeded with the part, so that equal bands
// of different parts rarely meet) above the document's number, so that sorting the numbers
// groups equal bands with their documents in canonical order. Documents of one bucket are still
// checked to be of one part; a chance 32-bit collision only costs one comparison.
uint64_t BandEntry(const uint16_t* signature, const LshBands& lsh, uint32_t band, uint32_t part,
                   uint32_t g) {
  const uint64_t h = BandHash(signature, lsh, band) ^ (uint64_t{part} * 0x9e3779b97f4a7c15ull);
  return ((h ^ (h << 29)) & 0xffffffff00000000ull) | g;
}

// LSD radix sort, 16 bits a pass; passes whose digit is the same everywhere are skipped.
void RadixSort(std::vector<uint64_t>* values, std::vector<uint64_t>* scratch) {
  scratch->resize(values->size());
  std::vector<uint32_t> count(65537);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (uint64_t v : *values) ++count[((v >> shift) & 0xffff) + 1];
    if (std::find(count.begin(), count.end(), values->size()) != count.end()) continue;
    for (size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (uint64_t v : *values) (*scratch)[count[(v >> shift) & 0xffff]++] = v;
    values->swap(*scratch);
  }
}

}  // namespace

absl::StatusOr<Clustering> ClusterNearDuplicates(const ClusteringInput& input,
                                                 const ClusteringOptions& options) {
  const LshBands& lsh = options.bands;
  if (lsh.bands == 0 || lsh.rows == 0 || lsh.bands * lsh.rows > input.permutations) {
    return absl::InvalidArgumentError(absl::StrCat("bad LSH bands ", lsh.bands, " × ", lsh.rows,
                                                   " for ", input.permutations, " permutations"));
  }
  if (input.part_starts.empty() || input.part_starts.front() != 0) {
    return absl::InvalidArgumentError("part_starts must start at 0");
  }
  Clustering out;
  MinRootSets sets(input.docs);
  // 8 bytes per document and band held, and one band's worth of sort scratch.
  const size_t per_band = std::max<size_t>(1, size_t{input.docs} * sizeof(uint64_t));
  auto part_of = [&](uint32_t g) {
    return static_cast<uint32_t>(
        std::upper_bound(input.part_starts.begin(), input.part_starts.end(), g) -
        input.part_starts.begin() - 1);
  };
  const uint32_t bands_per_pass = static_cast<uint32_t>(
      std::clamp<size_t>(options.memory_bytes / per_band, 2, lsh.bands + 1) - 1);
  std::vector<uint64_t> scratch;

  std::vector<uint16_t> first_sig, prev_sig, sig;
  // A candidate pair is joined when its estimate clears the threshold by the margin, dropped
  // when it misses it by the margin, and otherwise verified on the texts after the bands.
  std::vector<std::pair<uint32_t, uint32_t>> borderline;  // (smaller, larger) document
  const bool verify = static_cast<bool>(input.exact) && options.verify_margin > 0;
  auto similar = [&](uint32_t g, const std::vector<uint16_t>& a, uint32_t h,
                     const std::vector<uint16_t>& b) {
    ++out.candidate_pairs;
    const double estimate = EstimatedJaccard(a.data(), b.data(), input.permutations);
    if (verify && std::abs(estimate - options.threshold) < options.verify_margin) {
      borderline.push_back(std::minmax(g, h));
      return false;
    }
    return estimate >= options.threshold;
  };
  for (uint32_t band0 = 0; band0 < lsh.bands; band0 += bands_per_pass) {
    const uint32_t band_end = std::min(lsh.bands, band0 + bands_per_pass);
    std::vector<std::vector<uint64_t>> arrays(band_end - band0);
    for (std::vector<uint64_t>& entries : arrays) entries.reserve(input.docs);
    ++out.passes;
    RETURN_IF_ERROR(input.scan([&](uint32_t g, const uint16_t* signature) {
      const uint32_t part = part_of(g);
      for (uint32_t band = band0; band < band_end; ++band) {
        arrays[band - band0].push_back(BandEntry(signature, lsh, band, part, g));
      }
    }));
    constexpr uint64_t kBucket = 0xffffffff00000000ull;
    for (std::vector<uint64_t>& entries : arrays) {
      RadixSort(&entries, &scratch);
      for (size_t s = 0; s < entries.size();) {
        size_t e = s + 1;
        while (e < entries.size() && (entries[e] & kBucket) == (entries[s] & kBucket)) ++e;
        // A bucket: compare each member with the bucket's first, else with the one before it.
        bool first_read = false;
        for (size_t j = s + 1; j < e; ++j) {
          const uint32_t g = static_cast<uint32_t>(entries[j]);
          const uint32_t first = static_cast<uint32_t>(entries[s]);
          const uint32_t prev = static_cast<uint32_t>(entries[j - 1]);
          if (part_of(g) != part_of(first)) {
            prev_sig.clear();
            continue;  // a chance collision across parts: never compared
          }
          if (sets.Find(g) == sets.Find(first)) {
            prev_sig.clear();  // not read: read again if needed
            continue;
          }
          if (!first_read) {
            RETURN_IF_ERROR(input.read(first, &first_sig));
            first_read = true;
          }
          RETURN_IF_ERROR(input.read(g, &sig));
          if (similar(g, sig, first, first_sig)) {
            sets.Union(g, first);
            ++out.joined_pairs;
          } else if (j - 1 > s && part_of(prev) == part_of(g) && sets.Find(g) != sets.Find(prev)) {
            if (prev_sig.empty()) RETURN_IF_ERROR(input.read(prev, &prev_sig));
            if (similar(g, sig, prev, prev_sig)) {
              sets.Union(g, prev);
              ++out.joined_pairs;
            }
          }
          std::swap(prev_sig, sig);
        }
        s = e;
      }
      std::vector<uint64_t>().swap(entries);
    }
    if (options.progress) options.progress(band_end);
  }
  // The borderline pairs, on the texts (each pair once; deterministic order).
  std::sort(borderline.begin(), borderline.end());
  borderline.erase(std::unique(borderline.begin(), borderline.end()), borderline.end());
  // Pairs the confident joins already connect need no reading.
  std::erase_if(borderline,
                [&](const auto& p) { return sets.Find(p.first) == sets.Find(p.second); });
  if (!borderline.empty()) {
    ASSIGN_OR_RETURN(std::vector<double> exact, input.exact(borderline));
    if (exact.size() != borderline.size())
      return absl::InternalError("exact: wrong number of results");
    out.verified_pairs = borderline.size();
    for (size_t i = 0; i < borderline.size(); ++i) {
      if (exact[i] >= options.threshold) {
        sets.Union(borderline[i].first, borderline[i].second);
        ++out.joined_pairs;
      }
    }
  }
  out.root.resize(input.docs);
  for (uint32_t g = 0; g < input.docs; ++g) out.root[g] = sets.Find(g);
  return out;
}

}  // namespace shardstream
