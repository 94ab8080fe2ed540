// The near-dedup store: MinHash signatures per document and the clustering of near duplicates,
// in the catalog's RocksDB (families minhash_files / minhash / near_dups and meta/near_dedup,
// catalog_schema.h). Written by the dedup job, read by plans, stats and the report.
#ifndef SHARDSTREAM_SERVER_NEAR_DUP_STORE_H_
#define SHARDSTREAM_SERVER_NEAR_DUP_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "server/catalog.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// True when `signed_file` holds signatures of `file` as the catalog has it now, made with the
// parameters of fingerprint `params`.
inline bool IsCurrent(const v1::MinHashFile& signed_file, const v1::FileRecord& file,
                      const Hash128& params) {
  return signed_file.digest_hi() == file.digest_hi() &&
         signed_file.digest_lo() == file.digest_lo() &&
         signed_file.first_doc_id() == file.first_doc_id() &&
         signed_file.num_docs() == file.num_docs() && signed_file.params_hi() == params.hi &&
         signed_file.params_lo() == params.lo;
}

// Where the near-dedup of a catalog stands.
enum class NearDedupState {
  kNotRun,   // no complete clustering (never ran, or a run was interrupted while clustering)
  kStale,    // a clustering of another dataset version (files changed since)
  kCurrent,  // a clustering of the catalog as it is
};
const char* NearDedupStateName(NearDedupState state);  // "not run", "stale", "current"

// The fingerprint plans add to their filters' when they drop near duplicates: everything the
// clustering depends on besides the documents (the algorithm's version and every parameter).
Hash128 NearDedupFingerprint(const v1::NearDedupRecord& record);

// Collects one file's signatures for NearDupStore::CommitFile (server/sst_file.h FileEntries:
// in memory while small, else in an SST file to ingest). Not thread-safe; one per file being
// signed.
class SignatureWriter {
 public:
  ~SignatureWriter();
  // Ids must ascend.
  absl::Status Add(uint64_t doc_id, const std::vector<uint16_t>& signature);
  // No more Add().
  absl::Status Finish();

 private:
  friend class NearDupStore;
  SignatureWriter() = default;
  std::unique_ptr<class FileEntries> entries_;
  std::string packed_;  // the value being added
};

// Thread-safety: reads may run concurrently with each other and with writes; writes from one
// thread at a time. Never touches the Catalog's mirrors.
class NearDupStore {
 public:
  // `catalog` is borrowed and must outlive the store. On a const catalog the store only reads:
  // its writing methods return FAILED_PRECONDITION.
  explicit NearDupStore(const Catalog* catalog) : catalog_(catalog), writable_(nullptr) {}
  explicit NearDupStore(Catalog* catalog) : catalog_(catalog), writable_(&catalog->storage()) {}

  // The signed files, by file id.
  absl::StatusOr<std::map<uint32_t, v1::MinHashFile>> SignedFiles() const;
  // A writer for the signatures of `file_id`; thread-safe.
  std::unique_ptr<SignatureWriter> NewFileWriter(uint32_t file_id) const;
  // Removes SST files left by an interrupted run.
  absl::Status RemoveLeftoverSstFiles();
  // Drops `replaces` (the file's previous record, if any) with its signatures, adds
  // `signatures` (finished) and writes `record`, in that order: atomically when they were few,
  // else in steps, where an interruption leaves the record missing or old, so the next run
  // signs the file again, with the same result.
  absl::Status CommitFile(const v1::MinHashFile& record, SignatureWriter& signatures,
                          const v1::MinHashFile* replaces);
  // Drops a file's record and signatures.
  absl::Status DropFile(const v1::MinHashFile& file);
  // NOT_FOUND when the document has no signature.
  absl::Status ReadSignature(uint64_t doc_id, std::vector<uint16_t>* out) const;
  // Every signature in id order (`signature` is reused between calls).
  absl::Status ForEachSignature(
      const std::function<void(uint64_t doc_id, const std::vector<uint16_t>& signature)>& fn) const;

  // The last complete clustering; nullopt when none.
  absl::StatusOr<std::optional<v1::NearDedupRecord>> Record() const;
  absl::StatusOr<NearDedupState> State() const;
  // Deletes the record and every near duplicate: what a new clustering starts with.
  absl::Status BeginClustering();
  // Writes near duplicates (one atomic batch; any order).
  absl::Status PutNearDuplicates(const std::vector<std::pair<uint64_t, v1::NearDuplicate>>& dups);
  // Writes the record: the clustering is complete.
  absl::Status FinishClustering(const v1::NearDedupRecord& record);
  // The near-duplicate record of one document; nullopt when it is none (or its cluster's
  // representative).
  absl::StatusOr<std::optional<v1::NearDuplicate>> GetNearDuplicate(uint64_t doc_id) const;
  // Every near duplicate in id order (whatever the state).
  absl::Status ForEachNearDuplicate(
      const std::function<void(uint64_t doc_id, const v1::NearDuplicate& dup)>& fn) const;

 private:
  const CatalogStorage& storage() const { return catalog_->storage(); }

  const Catalog* const catalog_;
  CatalogStorage* const writable_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_NEAR_DUP_STORE_H_
