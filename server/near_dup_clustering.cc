#include "server/near_dup_clustering.h"

#include <algorithm>
#include <tuple>

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

struct BandEntry {
  uint64_t hash;
  uint32_t part;
  uint32_t g;
  friend bool operator<(const BandEntry& x, const BandEntry& y) {
    return std::tie(x.part, x.hash, x.g) < std::tie(y.part, y.hash, y.g);
  }
};

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
  const size_t per_band = std::max<size_t>(1, size_t{input.docs} * sizeof(BandEntry));
  const uint32_t bands_per_pass = static_cast<uint32_t>(
      std::clamp<size_t>(options.memory_bytes / per_band, 1, lsh.bands));

  std::vector<uint16_t> first_sig, prev_sig, sig;
  auto similar = [&](const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
    ++out.candidate_pairs;
    return EstimatedJaccard(a.data(), b.data(), input.permutations) >= options.threshold;
  };
  for (uint32_t band0 = 0; band0 < lsh.bands; band0 += bands_per_pass) {
    const uint32_t band_end = std::min(lsh.bands, band0 + bands_per_pass);
    std::vector<std::vector<BandEntry>> arrays(band_end - band0);
    for (std::vector<BandEntry>& entries : arrays) entries.reserve(input.docs);
    ++out.passes;
    RETURN_IF_ERROR(input.scan([&](uint32_t g, const uint16_t* signature) {
      const uint32_t part = static_cast<uint32_t>(
          std::upper_bound(input.part_starts.begin(), input.part_starts.end(), g) -
          input.part_starts.begin() - 1);
      for (uint32_t band = band0; band < band_end; ++band) {
        arrays[band - band0].push_back({BandHash(signature, lsh, band), part, g});
      }
    }));
    for (std::vector<BandEntry>& entries : arrays) {
      std::sort(entries.begin(), entries.end());
      for (size_t s = 0; s < entries.size();) {
        size_t e = s + 1;
        while (e < entries.size() && entries[e].part == entries[s].part &&
               entries[e].hash == entries[s].hash) {
          ++e;
        }
        // A bucket: compare each member with the bucket's first, else with the one before it.
        bool first_read = false;
        for (size_t j = s + 1; j < e; ++j) {
          const uint32_t g = entries[j].g, first = entries[s].g, prev = entries[j - 1].g;
          if (sets.Find(g) == sets.Find(first)) {
            prev_sig.clear();  // not read: read again if needed
            continue;
          }
          if (!first_read) {
            RETURN_IF_ERROR(input.read(first, &first_sig));
            first_read = true;
          }
          RETURN_IF_ERROR(input.read(g, &sig));
          if (similar(sig, first_sig)) {
            sets.Union(g, first);
            ++out.joined_pairs;
          } else if (j - 1 > s && sets.Find(g) != sets.Find(prev)) {
            if (prev_sig.empty()) RETURN_IF_ERROR(input.read(prev, &prev_sig));
            if (similar(sig, prev_sig)) {
              sets.Union(g, prev);
              ++out.joined_pairs;
            }
          }
          std::swap(prev_sig, sig);
        }
        s = e;
      }
      std::vector<BandEntry>().swap(entries);
    }
    if (options.progress) options.progress(band_end);
  }
  out.root.resize(input.docs);
  for (uint32_t g = 0; g < input.docs; ++g) out.root[g] = sets.Find(g);
  return out;
}

}  // namespace shardstream
