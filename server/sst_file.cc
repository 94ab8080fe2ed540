#include "server/sst_file.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/write_batch.h"
#include "server/rocksdb_status.h"

namespace shardstream {

absl::StatusOr<std::unique_ptr<SstFile>> SstFile::Create(const std::string& path,
                                                         const rocksdb::Options& options,
                                                         rocksdb::ColumnFamilyHandle* family) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir.string(), ": ", ec.message()));
  auto file = std::unique_ptr<SstFile>(new SstFile());
  file->writer_ = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), options, family);
  RETURN_IF_ERROR(FromRocksDb(file->writer_->Open(path), absl::StrCat("open ", path)));
  file->path_ = path;
  return file;
}

SstFile::~SstFile() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);  // not finished: nothing will ingest it
  }
}

absl::Status SstFile::Add(std::string_view key, std::string_view value) {
  empty_ = false;
  return FromRocksDb(writer_->Put(rocksdb::Slice(key.data(), key.size()),
                                  rocksdb::Slice(value.data(), value.size())),
                     "write SST");
}

absl::StatusOr<std::string> SstFile::Finish() {
  std::string path = std::move(path_);
  path_.clear();
  if (empty_) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return std::string();
  }
  RETURN_IF_ERROR(FromRocksDb(writer_->Finish(), "finish SST"));
  return path;
}

FileEntries::FileEntries(std::string spill_path, const rocksdb::Options* options,
                         rocksdb::ColumnFamilyHandle* family, size_t spill_bytes)
    : spill_path_(std::move(spill_path)),
      options_(options),
      family_(family),
      spill_bytes_(spill_bytes) {}

FileEntries::~FileEntries() = default;

absl::Status FileEntries::Add(std::string_view key, std::string_view value) {
  if (sst_ != nullptr) return sst_->Add(key, value);
  entries_.emplace_back(key, value);
  bytes_ += key.size() + value.size() + 2 * sizeof(std::string);
  if (bytes_ <= spill_bytes_) return absl::OkStatus();
  ASSIGN_OR_RETURN(sst_, SstFile::Create(spill_path_, *options_, family_));
  for (const auto& [k, v] : entries_) RETURN_IF_ERROR(sst_->Add(k, v));
  entries_ = {};
  return absl::OkStatus();
}

absl::Status FileEntries::Finish() {
  if (sst_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(sst_path_, sst_->Finish());
  return absl::OkStatus();
}

absl::Status FileEntries::Commit(rocksdb::DB* db, rocksdb::WriteBatch* batch,
                                 rocksdb::ColumnFamilyHandle* record_family,
                                 std::string_view record_key, std::string_view record_value,
                                 const std::string& what) {
  auto slice = [](std::string_view s) { return rocksdb::Slice(s.data(), s.size()); };
  if (sst_ == nullptr) {
    for (const auto& [k, v] : entries_) {
      RETURN_IF_ERROR(FromRocksDb(batch->Put(family_, k, v), "stage entry"));
    }
    RETURN_IF_ERROR(FromRocksDb(batch->Put(record_family, slice(record_key), slice(record_value)),
                                "stage record"));
    return FromRocksDb(db->Write(rocksdb::WriteOptions(), batch), what);
  }
  if (batch->Count() > 0) {
    RETURN_IF_ERROR(FromRocksDb(db->Write(rocksdb::WriteOptions(), batch), what));
  }
  if (!sst_path_.empty()) RETURN_IF_ERROR(IngestSstFile(db, family_, sst_path_));
  return FromRocksDb(
      db->Put(rocksdb::WriteOptions(), record_family, slice(record_key), slice(record_value)),
      what);
}

absl::Status IngestSstFile(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                           const std::string& path) {
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = true;  // same file system: a rename, no copy
  return FromRocksDb(db->IngestExternalFile(family, {path}, ingest), absl::StrCat("ingest ", path));
}

absl::Status RemoveSstDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("remove ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace shardstream
