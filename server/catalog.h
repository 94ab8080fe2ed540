// The corpus catalog: what is in the corpus files, persisted in RocksDB (schema in
// catalog_schema.h). The index job writes it; stats, tokenize and serve read it.
#ifndef SHARDSTREAM_SERVER_CATALOG_H_
#define SHARDSTREAM_SERVER_CATALOG_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/part_key.h"
#include "server/catalog_storage.h"
#include "server/document_list.h"
#include "shardstream/v1/catalog.pb.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Iterator;
class Statistics;
class WriteBatch;
struct Options;
}  // namespace rocksdb

namespace shardstream {

class DedupIndex;
class FileEntries;

// The source label of a file ("default" for catalogs written before sources existed).
inline std::string SourceOf(const v1::FileRecord& file) {
  return file.source().empty() ? std::string(kDefaultSource) : file.source();
}
inline PartKey PartOf(const v1::FileRecord& file) {
  return PartKey{SourceOf(file), file.partition()};
}

// The files of one part (partition × source) of the catalog.
struct PartFiles {
  PartKey key;
  // Fingerprint of the part's content in its canonical order: a function of the text field, P,
  // the part's key and, for its files by relative path, their document counts and digests. It
  // does not depend on ids, indexing history, other parts or which partitions a catalog owns.
  Hash128 version;
  uint64_t docs = 0;
  // The part's files by relative path (the canonical document order); borrowed from the
  // catalog's mirror, valid until its next write.
  std::vector<const v1::FileRecord*> files;
};

// Thread-safety: none. One thread at a time may use a Catalog; reading methods may run
// concurrently with each other but not with writing ones.
class Catalog {
 public:
  // NOT_FOUND when `dir` holds no catalog (and create_if_missing is off or read_only);
  // FAILED_PRECONDITION when another process holds it for writing or its schema version differs.
  static absl::StatusOr<std::unique_ptr<Catalog>> Open(const std::string& dir,
                                                       const CatalogOptions& options);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::string& dir() const { return dir_; }
  // The RocksDB this catalog shares with its peers (TokenStore, NearDupStore).
  const CatalogStorage& storage() const { return *storage_; }
  CatalogStorage& storage() { return *storage_; }
  const v1::DatasetMeta& meta() const { return meta_; }
  Hash128 version() const { return Hash128{meta_.version_hi(), meta_.version_lo()}; }
  // RocksDB's last sequence number as this instance sees it: grows with every write, so two
  // read-only instances with the same number (and version) see the same catalog.
  uint64_t sequence() const;
  // Zero unless opened with CatalogOptions::statistics.
  BlockCacheCounts block_cache_counts() const;
  // Every file, by file id.
  const std::map<uint32_t, v1::FileRecord>& files() const { return files_; }

  // FAILED_PRECONDITION ("run `shardstream index` first") when nothing was ever indexed: no
  // file, and every partition held. A catalog holding only some partitions may have none of
  // their files (a small corpus, many partitions) and still answer for them.
  absl::Status RequireIndexed() const;

  // P, the dataset's number of partitions (1 for catalogs from before partitions).
  uint32_t partitions() const { return meta_.partitions() == 0 ? 1 : meta_.partitions(); }
  // The partitions this catalog holds, ascending.
  std::vector<uint32_t> owned_partitions() const;
  // Sets P (0: keep the catalog's, 1 for a new one) and, when given, the partitions held.
  // P is fixed once the catalog has files: FAILED_PRECONDITION when `partitions` differs.
  // Files of partitions no longer owned are not removed here (the index job does it).
  absl::Status SetPartitioning(uint32_t partitions, const std::vector<uint32_t>* owned);
  // Every part with documents, by key. Computed from the mirror (O(files · log files)).
  std::vector<PartFiles> Parts() const;

  // Fixes the JSON field documents are read from. An empty catalog takes any field; one with
  // files keeps its own: FAILED_PRECONDITION names it when `text_field` differs.
  absl::Status SetTextField(const std::string& text_field);

  // Adds `file` with its documents (in file order). Assigns file_id, first_doc_id, num_docs,
  // and each document's file_id and duplicate_of. Returns the stored file record.
  // Documents that fit one write batch (max_batch_bytes) commit with the record atomically.
  // More commit in parts ahead of the record as pending documents, which no record refers to
  // (DatasetMeta.pending_doc_end); if the add is interrupted, the next writer's Open deletes
  // them. Either way a reader sees the whole file or none of it. A part whose records exceed
  // record_spill_bytes is written to an SST file and ingested (no write-ahead log, memtable
  // or flush), after a commit that marks its documents pending.
  absl::StatusOr<v1::FileRecord> AddFile(v1::FileRecord file, DocumentSource& docs);
  absl::StatusOr<v1::FileRecord> AddFile(v1::FileRecord file,
                                         const std::vector<v1::DocRecord>& docs);

  // Replaces the record of indexed file `file.file_id()` whose documents did not change (same
  // digest and count) but whose bytes, location or line numbers did. `docs` are the file's
  // documents as read now: their line numbers are taken, ids and duplicate links are kept.
  // FAILED_PRECONDITION when the digest or count differs (remove and add the file instead).
  // Line numbers beyond one batch are written ahead of the record; an interrupted refresh
  // leaves the old record, so the next index run reads the file and refreshes it again.
  absl::Status RefreshFile(const v1::FileRecord& file, DocumentSource& docs);
  absl::Status RefreshFile(const v1::FileRecord& file, const std::vector<v1::DocRecord>& docs);

  // Removes a file and its documents. Where one of them was the original of a text that other
  // files still hold, the earliest remaining copy becomes the original. One atomic commit when
  // it fits one batch; else the first commit deletes the record and marks the file's ids as
  // being removed (DatasetMeta.removing_first/end), the next ones delete its documents, and a
  // writer's Open finishes a removal that was interrupted.
  absl::Status RemoveFile(uint32_t file_id);

  // The most bytes one commit stages before a file's documents are split over several (64 MiB
  // by default). Bounds a writer's memory whatever a file's number of documents.
  void set_max_batch_bytes(size_t bytes) { max_batch_bytes_ = std::max<size_t>(bytes, 1); }
  // Document records past this many bytes in one part go to an SST file (4 MiB by default;
  // below it, one file per add would leave many small SST files).
  void set_record_spill_bytes(size_t bytes);

  // The memory the dedup entries of added documents may take before they are written
  // (server/dedup_index.h). 0 (the default): each AddFile writes its own, right after the
  // file's record. An index job gives a budget, so that entries are written in few large
  // sorted runs; until they are, DatasetMeta.dedup_unwritten_first/end name their documents,
  // and WriteDedupEntries() (also called by Flush() and before any removal) writes them.
  void set_dedup_memory_bytes(size_t bytes) { dedup_memory_bytes_ = bytes; }
  absl::Status WriteDedupEntries();

  // NOT_FOUND when there is no such document.
  absl::StatusOr<v1::DocRecord> GetDoc(uint64_t doc_id) const;

  // Calls `fn` for every document of a file in id order until it returns false.
  absl::Status ForEachDoc(
      const std::function<bool(uint64_t doc_id, const v1::DocRecord& doc)>& fn) const;
  // The same for ids in [first, end). Touches no mirror: safe from any thread, also while
  // another thread writes the token store.
  absl::Status ForEachDocInRange(
      uint64_t first, uint64_t end,
      const std::function<bool(uint64_t doc_id, const v1::DocRecord& doc)>& fn) const;

  // The documents with ids in [first, end) in id order, pulled one at a time: a file's
  // documents read alongside its lines without holding them. Safe where ForEachDocInRange is;
  // the catalog must outlive the cursor.
  class DocCursor {
   public:
    ~DocCursor();
    // The next document into `id` and `doc`; false after the last.
    absl::StatusOr<bool> Next(uint64_t* id, v1::DocRecord* doc);

   private:
    friend class Catalog;
    DocCursor(const Catalog* catalog, uint64_t first, uint64_t end);
    const Catalog* catalog_;
    const uint64_t first_, end_;
    std::unique_ptr<rocksdb::Iterator> it_;
  };
  std::unique_ptr<DocCursor> NewDocCursor(uint64_t first, uint64_t end) const;

  // Raw key/value pairs of one column family (catalog_schema.h names them) in key order,
  // for dumps and tests.
  absl::Status ForEachEntry(
      std::string_view family,
      const std::function<void(std::string_view key, std::string_view value)>& fn) const;

  // From now on, commits do not recompute the dataset version (O(files) each) but mark it
  // stale; UpdateVersion() computes it once. A job that commits file by file calls both; an
  // interrupted one leaves it stale, and the next Open computes it (in memory; the next
  // commit or UpdateVersion() stores it, even when nothing else changed).
  void DeferVersion();
  absl::Status UpdateVersion();

  // Writes memtables to SST files and drops the write-ahead log, so the catalog's on-disk size
  // is its steady-state size. Writers call it at the end of a job.
  absl::Status Flush();

  // Bytes the catalog directory occupies on disk.
  absl::StatusOr<uint64_t> DiskBytes() const;

  // The version fingerprint of a dataset made of `files` read with `text_field`: a function of
  // the documents' content digests and order only (not of paths, ids, sizes or times).
  static Hash128 ComputeVersion(const std::string& text_field,
                                const std::map<uint32_t, v1::FileRecord>& files);

 private:
  Catalog() = default;
  absl::Status Load();
  // AddFile but for what an add that failed leaves behind.
  absl::StatusOr<v1::FileRecord> AddDocuments(v1::FileRecord file, DocumentSource& docs);
  // A file record to write (`record`) or delete (no `record`) in a commit.
  struct FileChange {
    uint32_t file_id;
    std::optional<v1::FileRecord> record;
  };
  // Adds `change` and the dataset record `meta` (with the fingerprint of the files after the
  // change) to `batch`, writes it atomically and updates the mirrors; on error they are left as
  // they were. `what` names the operation in errors.
  absl::Status Commit(rocksdb::WriteBatch* batch, v1::DatasetMeta meta,
                      std::optional<FileChange> change, const std::string& what);
  // Deletes the documents with ids in [first, end) and their dedup entries, promoting the
  // earliest copy outside the range of each text one of them was the original of, in commits
  // of at most max_batch_bytes. `change` (the file record's deletion) goes with the first; each
  // but the last marks the range as being removed.
  absl::Status RemoveDocuments(uint64_t first, uint64_t end, std::optional<FileChange> change,
                               const std::string& what);
  // The directories SST files are built in before their ingestion (empty between adds).
  absl::Status RemoveIngestDirectories();
  // On a writer's Open: the work an interrupted add or remove left (DatasetMeta).
  absl::Status FinishInterruptedCommits();
  rocksdb::ColumnFamilyHandle* Family(std::string_view name) const;

  // Constant after Open.
  std::string dir_;
  bool read_only_ = false;
  bool defer_version_ = false;
  bool stored_version_stale_ = false;  // the stored meta's version is stale (meta_'s is not)
  size_t max_batch_bytes_ = size_t{64} << 20;
  size_t record_spill_bytes_ = size_t{4} << 20;
  size_t dedup_memory_bytes_ = 0;
  std::unique_ptr<CatalogStorage> storage_;
  rocksdb::DB* db_ = nullptr;  // storage_'s, and the handles of this class's families
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* files_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* docs_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* dedup_cf_ = nullptr;
  std::unique_ptr<DedupIndex> dedup_;  // the dedup family as a writer probes and adds to it
  std::unique_ptr<FileEntries> records_;  // the document records of an add, reused by the next

  // Mirrors of the persisted meta and files records, updated after each successful commit.
  v1::DatasetMeta meta_;
  std::map<uint32_t, v1::FileRecord> files_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_H_
