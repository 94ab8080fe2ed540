// `shardstream dedup`: near-duplicate detection over the indexed corpus (docs/dedup.md).
//
// Two phases. Signing: each corpus file is read once through the same checked reader as
// tokenize (server/indexed_documents.h), every document gets a MinHash signature, and each
// file's signatures are committed in one atomic batch, in catalog order, with the file's digest
// and the parameters' fingerprint: an interrupted run resumes where it stopped, files already
// signed with the same parameters are skipped (incremental after `index` adds files), and
// signatures of files that changed or left are dropped. Clustering: recomputed from all
// signatures every run (LSH bands, union–find, server/near_dup_clustering.h) and written as the
// near_dups family plus meta/near_dedup, which is deleted first and written last, so only a
// complete clustering is ever used. The result does not depend on --jobs or on the history.
#ifndef SHARDSTREAM_SERVER_NEAR_DEDUP_JOB_H_
#define SHARDSTREAM_SERVER_NEAR_DEDUP_JOB_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/minhash.h"
#include "server/catalog.h"
#include "server/index_job.h"  // FileProblem
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

struct NearDedupOptions {
  MinHashParams minhash;
  double threshold = 0.7;  // Jaccard at or above which two documents are joined
  // Candidates whose estimate is within this of the threshold are decided on their exact
  // Jaccard, which reads their documents again (0: estimates decide everything).
  double verify_margin = 0.0;
  int jobs = 1;            // files signed in parallel
  // Clustering's band arrays (16 bytes per document and band held at once; fewer bytes mean
  // more passes over the signatures, never a different result).
  size_t memory_bytes = size_t{1} << 30;
  absl::Status Validate() const;
};

struct NearDedupSummary {
  uint64_t files_signed = 0;
  uint64_t files_unchanged = 0;     // already signed with the current content and parameters
  uint64_t files_dropped = 0;       // signatures of files no longer in the catalog
  uint64_t docs_signed = 0;         // by this run
  uint64_t text_bytes = 0;          // read by this run
  std::vector<FileProblem> failed;  // unreadable, or changed on disk since `index`
  v1::NearDedupRecord record;       // the clustering (when `failed` is empty)
  uint32_t passes = 0;              // signature scans of the clustering
  double seconds = 0, sign_seconds = 0, cluster_seconds = 0;
};

struct NearDedupProgress {
  bool clustering = false;
  uint64_t files_total = 0, files_done = 0, docs = 0, text_bytes = 0;
  uint32_t bands_total = 0, bands_done = 0;
};

class NearDedupJob {
 public:
  // `catalog` is borrowed, open for writing, for the job's lifetime.
  NearDedupJob(Catalog* catalog, NearDedupOptions options);
  // Files that cannot be read are reported in `failed` and leave the clustering out (the
  // record stays absent): near duplicates of unread documents would be silently missed.
  absl::StatusOr<NearDedupSummary> Run();
  NearDedupProgress progress() const;  // thread-safe

 private:
  absl::Status Sign(NearDedupSummary* summary);
  absl::Status Cluster(NearDedupSummary* summary);

  Catalog* const catalog_;
  const NearDedupOptions options_;
  std::atomic<bool> clustering_{false};
  std::atomic<uint64_t> files_total_{0}, files_done_{0}, docs_{0}, text_bytes_{0};
  std::atomic<uint32_t> bands_total_{0}, bands_done_{0};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_NEAR_DEDUP_JOB_H_
