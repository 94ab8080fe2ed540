// The bulk write path of the catalog, for the entries a job derives from one corpus file
// (tokens, signatures). A worker thread collects them in key order (FileEntries); the
// committing thread commits them with the record that makes them visible.
//
// Few entries stay in memory and commit in one WriteBatch: the column family then gets a few
// large SST files from memtable flushes and compaction, however many corpus files there are
// (one SST per corpus file would need one open file each: 1,000 small files would exhaust
// `ulimit -n 1024`). Past a spill size they go to an SST file (rocksdb::SstFileWriter) that the
// commit ingests (moved, not copied): no write-ahead log, no memtable, memory bounded by a
// block whatever the file's size.
#ifndef SHARDSTREAM_SERVER_SST_FILE_H_
#define SHARDSTREAM_SERVER_SST_FILE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class SstFileWriter;
class WriteBatch;
struct Options;
}  // namespace rocksdb

namespace shardstream {

// Not thread-safe; one per file being built.
class SstFile {
 public:
  // Creates `path` (and its directory) for keys of `family`, written with `options`.
  static absl::StatusOr<std::unique_ptr<SstFile>> Create(const std::string& path,
                                                         const rocksdb::Options& options,
                                                         rocksdb::ColumnFamilyHandle* family);
  // Removes the file unless Finish() handed it over.
  ~SstFile();
  SstFile(const SstFile&) = delete;
  SstFile& operator=(const SstFile&) = delete;

  // Keys must ascend.
  absl::Status Add(std::string_view key, std::string_view value);
  // Closes the file; returns its path, or "" when nothing was added (no file).
  absl::StatusOr<std::string> Finish();

 private:
  SstFile() = default;
  std::unique_ptr<rocksdb::SstFileWriter> writer_;
  std::string path_;
  bool empty_ = true;
};

// One corpus file's entries for one column family. Not thread-safe; one per file being read.
class FileEntries {
 public:
  // Entries past this many bytes (keys, values and overhead) spill to an SST file.
  static constexpr size_t kDefaultSpillBytes = size_t{4} << 20;

  // `spill_path`: where the SST file goes if they spill; `options` and `family` are borrowed.
  FileEntries(std::string spill_path, const rocksdb::Options* options,
              rocksdb::ColumnFamilyHandle* family, size_t spill_bytes = kDefaultSpillBytes);
  ~FileEntries();
  FileEntries(const FileEntries&) = delete;
  FileEntries& operator=(const FileEntries&) = delete;

  // Keys must ascend.
  absl::Status Add(std::string_view key, std::string_view value);
  // Forgets the entries (an SST file not ingested is removed) for a new set; keeps the
  // buffer, so that set after set reuse the same memory.
  void Reset();
  // No more Add(); closes the SST file if they spilled.
  absl::Status Finish();
  bool spilled() const { return sst_ != nullptr; }
  // Bytes added so far, spilled or not.
  size_t bytes() const { return bytes_; }

  // Writes, in this order: what `batch` holds (deletes of the entries these replace), the
  // entries, and `record_key` → `record_value` in `record_family` (what makes them visible).
  // In memory: one atomic WriteBatch. Spilled: `batch`, the ingestion, then the record, each
  // atomic, so an interruption leaves the record missing or old and the next run redoes the
  // file with the same result. After Finish(), from the committing thread.
  absl::Status Commit(rocksdb::DB* db, rocksdb::WriteBatch* batch,
                      rocksdb::ColumnFamilyHandle* record_family, std::string_view record_key,
                      std::string_view record_value, const std::string& what);

  // The two halves of a commit the caller orders itself, after Finish(). In memory, Stage adds
  // the entries to `batch` and Ingest does nothing; spilled, Stage does nothing and Ingest
  // moves the SST file into the family.
  absl::Status Stage(rocksdb::WriteBatch* batch) const;
  absl::Status Ingest(rocksdb::DB* db) const;

 private:
  const std::string spill_path_;
  const rocksdb::Options* const options_;
  rocksdb::ColumnFamilyHandle* const family_;
  const size_t spill_bytes_;
  // Calls `fn` on each entry held in memory until one fails.
  absl::Status ForEachHeld(
      const std::function<absl::Status(std::string_view, std::string_view)>& fn) const;
  // Until spilled: the entries in one buffer (no allocation each), as (key size, value size,
  // key, value) with 32-bit sizes.
  std::string held_;
  size_t bytes_ = 0;
  std::unique_ptr<SstFile> sst_;  // once spilled
  std::string sst_path_;          // once finished, spilled and not empty
};

// Moves a finished SST file into `family`; its keys shadow older ones.
absl::Status IngestSstFile(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                           const std::string& path);

// Removes the directory of SST files an interrupted run left.
absl::Status RemoveSstDirectory(const std::string& dir);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SST_FILE_H_
