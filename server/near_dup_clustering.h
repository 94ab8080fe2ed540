// Clustering near duplicates from MinHash signatures (docs/dedup.md): LSH bands give candidate
// pairs, pairs whose Jaccard reaches the threshold are joined (union–find) — estimated from the
// signatures, or exact on the texts when the estimate is too close to call — and each cluster
// is represented by its first document in canonical order. No storage: signatures come
// through callbacks, so the caller decides where they live.
//
// Documents are numbered g = 0, 1, ... in canonical order (parts by key; in a part, files by
// relative path, documents by line), and only documents of the same part are compared, so a
// part's clusters are a function of its content and the parameters alone: the property that
// keeps a plan a pure function of its part's version (docs/mixtures.md).
//
// Memory: 4 bytes per document (the union–find parents) plus 8 bytes per document and band
// held at once and as much again to sort one band; bands are processed in passes that fit
// `memory_bytes`, one signature scan each.
#ifndef SHARDSTREAM_SERVER_NEAR_DUP_CLUSTERING_H_
#define SHARDSTREAM_SERVER_NEAR_DUP_CLUSTERING_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/minhash.h"

namespace shardstream {

struct ClusteringInput {
  uint32_t docs = 0;                  // documents, numbered [0, docs) in canonical order
  std::vector<uint32_t> part_starts;  // ascending, first 0: part i is [part_starts[i], next)
  uint32_t permutations = 0;          // values per signature
  // Calls `emit(g, signature)` once for every document that has a signature, in any order.
  // Called once per pass.
  std::function<absl::Status(const std::function<void(uint32_t g, const uint16_t* sig)>& emit)>
      scan;
  // The signature of document g into `out` (random access, for candidate pairs).
  std::function<absl::Status(uint32_t g, std::vector<uint16_t>* out)> read;
  // The exact Jaccard similarity of each pair of documents, in order: called once, after the
  // bands, for the candidates whose estimate lies within ClusteringOptions::verify_margin of
  // the threshold. Empty: estimates decide everything.
  std::function<absl::StatusOr<std::vector<double>>(
      const std::vector<std::pair<uint32_t, uint32_t>>& pairs)>
      exact;
};

struct ClusteringOptions {
  double threshold = 0.7;  // join pairs whose Jaccard is at least this
  // Candidates whose estimate is within this of the threshold are decided on their exact
  // Jaccard (ClusteringInput::exact); the others on the estimate, whose standard error is
  // about 0.03 at 256 values (0.1 is over 3 of them). 0: estimates decide everything.
  double verify_margin = 0;
  LshBands bands;
  size_t memory_bytes = size_t{1} << 30;              // for the band arrays of one pass
  std::function<void(uint32_t bands_done)> progress;  // after each pass; may be empty
};

struct Clustering {
  // root[g]: the first document (smallest g) of g's cluster; root[g] == g for representatives
  // (every document that is not a near duplicate represents itself).
  std::vector<uint32_t> root;
  uint64_t candidate_pairs = 0;  // pairs compared
  uint64_t joined_pairs = 0;     // of which joined
  uint64_t verified_pairs = 0;   // of which decided on their exact Jaccard
  uint32_t passes = 0;           // signature scans
};

// Deterministic: the result depends on the signatures, part boundaries and options only (not
// on the order `scan` emits in).
absl::StatusOr<Clustering> ClusterNearDuplicates(const ClusteringInput& input,
                                                 const ClusteringOptions& options);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_NEAR_DUP_CLUSTERING_H_
