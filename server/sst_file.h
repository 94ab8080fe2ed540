// The bulk write path of the catalog: one thread builds an SST file of sorted keys for one
// column family (rocksdb::SstFileWriter), and the committing thread ingests it
// (IngestExternalFile, moved, not copied): no write-ahead log, no memtable, no flush, and
// memory bounded by a block, whatever the number of keys. Used for tokens and signatures.
#ifndef SHARDSTREAM_SERVER_SST_FILE_H_
#define SHARDSTREAM_SERVER_SST_FILE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class SstFileWriter;
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

// Moves a finished SST file into `family`; its keys shadow older ones.
absl::Status IngestSstFile(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                           const std::string& path);

// Removes the directory of SST files an interrupted run left.
absl::Status RemoveSstDirectory(const std::string& dir);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SST_FILE_H_
