// Which document first held each text, as a catalog writer sees it: the dedup family as of a
// point in time, plus the entries of the documents added since, held in memory until they are
// written as one sorted run.
//
// Writing each document's entry with its file cost a random insert into the memtable's skip
// list (~1.7 µs, the largest cost of indexing tiny documents) and a later flush and
// compaction. Entries written together, sorted, in one SST file (ingested: no memtable, no
// write-ahead log) cost a sort and a sequential write; a probe for a text added since looks in
// a hash map. Until they are written, DatasetMeta.dedup_unwritten_first/end name the documents
// whose entries are missing, and a writer that opens the catalog writes them from the
// documents' hashes (Catalog::FinishInterruptedCommits).
#ifndef SHARDSTREAM_SERVER_DEDUP_INDEX_H_
#define SHARDSTREAM_SERVER_DEDUP_INDEX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "server/original_table.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Iterator;
class WriteBatch;
struct Options;
struct ReadOptions;
}  // namespace rocksdb

namespace shardstream {

// Reads of the dedup family are probes of one hash prefix: confined to it, a Seek neither
// walks past it over the tombstones removed files leave (which made each probe scan every
// tombstone after its hash) nor skips the prefix Bloom filters.
rocksdb::ReadOptions DedupProbeOptions();

// Not thread-safe; owned by the catalog's writer.
class DedupIndex {
 public:
  // Unwritten entries past this many bytes go to an SST file; fewer go through a write batch
  // (one SST file each would leave the family many small files to compact).
  static constexpr size_t kSstBytes = size_t{4} << 20;

  // `family` is the dedup family of `db`; SST files are written at `sst_path` with
  // `sst_options`. All are borrowed.
  DedupIndex(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
             const rocksdb::Options* sst_options, std::string sst_path,
             size_t sst_bytes = kSstBytes);
  ~DedupIndex();
  DedupIndex(const DedupIndex&) = delete;
  DedupIndex& operator=(const DedupIndex&) = delete;

  // The id of the first document with text `hash` (the smallest id), if there is one.
  absl::StatusOr<std::optional<uint64_t>> FindOriginal(const Hash128& hash);
  // Document `id` (larger than every id held) has text `hash`: holds its entry and returns
  // the original, if an earlier document had the text. One hash-map probe per document, and
  // a probe of the family only for a text first seen since it was read.
  absl::StatusOr<std::optional<uint64_t>> AddDocument(const Hash128& hash, uint64_t id);
  // A hint: AddDocument(hash, …) comes soon.
  void Prefetch(const Hash128& hash) const { originals_.Prefetch(hash); }
  // Forgets the documents with ids ≥ `first` (those of an add that failed).
  void DropFrom(uint64_t first);

  bool empty() const { return entries_.empty(); }
  // The smallest id held (not empty()).
  uint64_t first_id() const { return entries_.front().second; }
  // Bytes of memory the unwritten entries take.
  size_t memory_bytes() const;

  // Writes the unwritten entries: into `batch` when few (the caller writes it), else into an
  // SST file that is ingested into the family here (then true). Holds none after, also on
  // error; probes see the family anew. If the caller's write fails, its DatasetMeta still names
  // their documents and the next writer's Open writes them (writing an entry twice is harmless).
  absl::StatusOr<bool> WriteTo(rocksdb::WriteBatch* batch);
  // The family changed (entries written or deleted): later probes see it as it is now.
  void Refresh();

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  const rocksdb::Options* const sst_options_;
  const std::string sst_path_;
  const size_t sst_bytes_;
  // Sorts the entries in key order.
  void SortEntries();
  // FindOriginal in the family only.
  absl::StatusOr<std::optional<uint64_t>> FindStored(const Hash128& hash);
  // The original of each text of the unwritten entries.
  OriginalTable originals_;
  // The unwritten entries (hash, id), in id order.
  std::vector<std::pair<Hash128, uint64_t>> entries_;
  // The family as of the last Refresh(), created at the first probe after it.
  std::unique_ptr<rocksdb::Iterator> probe_;
  bool family_empty_ = false;  // what probe_ sees holds no entry
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_DEDUP_INDEX_H_
