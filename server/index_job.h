// `shardstream index`: brings the catalog in line with the corpus files on disk.
//
// Files are compared by (root, size, mtime); those that differ are read in parallel and
// committed one file per atomic WriteBatch, strictly in relative-path order. Because commits
// are ordered and atomic, an interrupted run (kill -9 included) leaves a prefix of the work
// done, and the next run finishes it with exactly the ids an uninterrupted run assigns.
#ifndef SHARDSTREAM_SERVER_INDEX_JOB_H_
#define SHARDSTREAM_SERVER_INDEX_JOB_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/corpus_file_reader.h"
#include "common/corpus_files.h"
#include "common/hash128.h"
#include "server/catalog.h"
#include "server/document_list.h"

namespace shardstream {

struct IndexOptions {
  std::vector<std::string> corpus_paths;  // directories (searched recursively) or files
  std::string text_field = "content";     // JSON field holding the document text
  // Source label of these corpus paths' files. A run touches only the files of its source:
  // files of other sources in the catalog are left as they are.
  std::string source = "default";
  // P, the dataset's partitions: 0 keeps the catalog's (1 for a new catalog). Fixed at the
  // first index; another value is refused with FAILED_PRECONDITION.
  uint32_t partitions = 0;
  // Partitions this catalog holds (common/part_key.h ParsePartitionSet: "0-2,5", "i/N",
  // "all"); "" keeps the catalog's (all for a new one). Files of other partitions are not read;
  // those indexed before are removed.
  std::string own;
  // Files read in parallel.
  int jobs = 1;
  // Longer lines are skipped and counted as too long. Bounds each reader's memory for a line:
  // the line buffer, simdjson's parse and the unescaped text (LineBytes()).
  size_t max_line_bytes = kDefaultMaxLineBytes;
  // What the job may hold, whatever the shape of the files: the catalog's memtables and block
  // cache (CatalogMemory()), each reader's line memory, the document records of the files
  // being read, waiting for their turn and being committed, and the dedup entries not written
  // yet (DedupBytes()). A file's records beyond its share go to an unlinked temporary file in
  // the catalog's directory, and are committed in parts (Catalog::AddFile). 0: 1 GiB, or
  // LeastMemoryBytes() when that is more.
  size_t memory_bytes = 0;

  // memory_bytes, or what 0 stands for.
  size_t MemoryBytes() const;
  // The smallest budget that holds `jobs` readers of max_line_bytes lines.
  size_t LeastMemoryBytes() const;
  // The catalog options that keep RocksDB's part within memory_bytes: 1/8 for memtables and
  // 1/16 (at most 64 MiB) for the block cache. Open the job's catalog with them.
  CatalogOptions CatalogMemory() const;
  // The most one reader needs for a line of max_line_bytes (measured: 3 times the line).
  size_t LineBytes() const;
  // Each file's share of memory_bytes for document records, in memory or in a write batch.
  size_t DocumentListBytes() const;
  // What the dedup entries of added documents may take before they are written as one sorted
  // run (Catalog::set_dedup_memory_bytes): a quarter of what the readers' lines and the
  // records' least shares leave (0 at the least budget: each file writes its own).
  size_t DedupBytes() const;
  // INVALID_ARGUMENT naming the bad option (a budget too small for the readers says how much
  // they need).
  absl::Status Validate() const;
};

struct FileProblem {
  std::string path;
  std::string error;
};

// What one run found and did.
struct IndexSummary {
  // On disk.
  uint64_t files_found = 0;             // corpus files listed
  uint64_t files_ignored = 0;           // other files under the corpus paths
  uint64_t files_not_owned = 0;         // corpus files of partitions this catalog does not hold
  std::vector<FileProblem> unreadable;  // could not be listed or opened; catalog left as it was
  // Done.
  uint64_t files_unchanged = 0;  // same root, size and mtime: not read
  uint64_t files_added = 0;      // new files
  uint64_t files_reindexed = 0;  // changed content: old documents removed, new ones added
  uint64_t files_refreshed = 0;  // bytes or place changed, documents identical: ids kept
  uint64_t files_removed = 0;    // gone from disk: dropped with their documents
  // Catalog files under a path in `unreadable`: not known to be gone, left as they were.
  uint64_t files_kept_unlisted = 0;
  uint64_t docs_added = 0;
  uint64_t docs_removed = 0;
  uint64_t raw_bytes_read = 0;
  uint64_t decoded_bytes_read = 0;
  uint64_t text_bytes_added = 0;
  uint64_t bad_lines_read = 0;       // in the files read by this run
  std::vector<FileProblem> damaged;  // files read by this run that are damaged
  std::vector<std::string> empty;    // files read by this run with no bytes at all
  // The catalog afterwards.
  uint64_t catalog_files = 0;
  uint64_t catalog_docs = 0;
  Hash128 version;
  bool version_changed = false;
  double seconds = 0;
};

// Live counters for progress displays; read from any thread.
struct IndexProgress {
  uint64_t files_total = 0;
  uint64_t files_done = 0;
  uint64_t docs_read = 0;
  uint64_t text_bytes_read = 0;
};

// Runs once. Thread-safety: Run() from one thread; progress() from any.
class IndexJob {
 public:
  // `catalog` is borrowed for the job's lifetime and must be open for writing.
  IndexJob(Catalog* catalog, IndexOptions options);

  absl::StatusOr<IndexSummary> Run();
  IndexProgress progress() const;

 private:
  struct WorkItem;
  struct FileOutcome;
  FileOutcome ReadFile(const CorpusFile& file, class CorpusFileReader& reader,
                       class QualitySignalComputer& quality);
  absl::Status Commit(const WorkItem& item, FileOutcome outcome, IndexSummary* summary);

  Catalog* const catalog_;
  const IndexOptions options_;
  std::atomic<uint64_t> files_total_{0};
  std::atomic<uint64_t> files_done_{0};
  std::atomic<uint64_t> docs_read_{0};
  std::atomic<uint64_t> text_bytes_read_{0};
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_INDEX_JOB_H_
