#include "server/sst_file.h"

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/write_batch.h"
#include "server/rocksdb_status.h"

namespace shardstream {
namespace {

// FileEntries holds each entry as its key's and value's sizes, then the key and the value.
constexpr size_t kSizeBytes = 2 * sizeof(uint32_t);

void AppendSize(std::string* out, size_t size) {
  const auto value = static_cast<uint32_t>(size);
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

uint32_t ReadSize(const char* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

}  // namespace

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
  bytes_ += key.size() + value.size() + kSizeBytes;
  if (sst_ != nullptr) return sst_->Add(key, value);
  AppendSize(&held_, key.size());
  AppendSize(&held_, value.size());
  held_.append(key);
  held_.append(value);
  if (bytes_ <= spill_bytes_) return absl::OkStatus();
  ASSIGN_OR_RETURN(sst_, SstFile::Create(spill_path_, *options_, family_));
  RETURN_IF_ERROR(
      ForEachHeld([this](std::string_view k, std::string_view v) { return sst_->Add(k, v); }));
  held_.clear();  // kept for the next Reset()
  return absl::OkStatus();
}

void FileEntries::Reset() {
  held_.clear();
  bytes_ = 0;
  sst_.reset();
  sst_path_.clear();
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
    RETURN_IF_ERROR(Stage(batch));
    RETURN_IF_ERROR(FromRocksDb(batch->Put(record_family, slice(record_key), slice(record_value)),
                                "stage record"));
    return FromRocksDb(db->Write(rocksdb::WriteOptions(), batch), what);
  }
  if (batch->Count() > 0) {
    RETURN_IF_ERROR(FromRocksDb(db->Write(rocksdb::WriteOptions(), batch), what));
  }
  RETURN_IF_ERROR(Ingest(db));
  return FromRocksDb(
      db->Put(rocksdb::WriteOptions(), record_family, slice(record_key), slice(record_value)),
      what);
}

absl::Status FileEntries::Stage(rocksdb::WriteBatch* batch) const {
  return ForEachHeld([this, batch](std::string_view k, std::string_view v) {
    return FromRocksDb(
        batch->Put(family_, rocksdb::Slice(k.data(), k.size()), rocksdb::Slice(v.data(), v.size())),
        "stage entry");
  });
}

absl::Status FileEntries::ForEachHeld(
    const std::function<absl::Status(std::string_view, std::string_view)>& fn) const {
  for (size_t at = 0; at < held_.size();) {
    const uint32_t key_size = ReadSize(held_.data() + at);
    const uint32_t value_size = ReadSize(held_.data() + at + sizeof(uint32_t));
    at += kSizeBytes;
    RETURN_IF_ERROR(fn(std::string_view(held_.data() + at, key_size),
                       std::string_view(held_.data() + at + key_size, value_size)));
    at += key_size + value_size;
  }
  return absl::OkStatus();
}

absl::Status FileEntries::Ingest(rocksdb::DB* db) const {
  if (sst_path_.empty()) return absl::OkStatus();
  return IngestSstFile(db, family_, sst_path_);
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
