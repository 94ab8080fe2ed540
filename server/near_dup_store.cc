#include "server/near_dup_store.h"

#include "absl/strings/str_cat.h"
#include "common/minhash.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "server/catalog_schema.h"
#include "server/rocksdb_status.h"
#include "server/sst_file.h"

namespace shardstream {
namespace {

namespace schema = catalog_schema;

// One past the largest doc key: the end of a DeleteRange over a whole family.
std::string EndOfDocKeys() { return std::string(9, '\xff'); }

std::string SignatureIngestDir(const std::string& db) { return db + "/minhash-ingest"; }

// A signature's value (catalog_schema.h): its uint16s, little-endian.
void PackSignature(const std::vector<uint16_t>& signature, std::string* out) {
  out->resize(signature.size() * 2);
  for (size_t i = 0; i < signature.size(); ++i) {
    (*out)[2 * i] = static_cast<char>(signature[i] & 0xff);
    (*out)[2 * i + 1] = static_cast<char>(signature[i] >> 8);
  }
}

absl::Status UnpackSignature(std::string_view packed, std::vector<uint16_t>* out) {
  if (packed.size() % 2 != 0) {
    return absl::DataLossError(absl::StrCat("a signature of ", packed.size(), " bytes"));
  }
  out->resize(packed.size() / 2);
  for (size_t i = 0; i < out->size(); ++i) {
    (*out)[i] = static_cast<uint16_t>(static_cast<unsigned char>(packed[2 * i]) |
                                      (static_cast<unsigned char>(packed[2 * i + 1]) << 8));
  }
  return absl::OkStatus();
}

}  // namespace

const char* NearDedupStateName(NearDedupState state) {
  switch (state) {
    case NearDedupState::kNotRun:
      return "not run";
    case NearDedupState::kStale:
      return "stale";
    case NearDedupState::kCurrent:
      return "current";
  }
  return "?";
}

Hash128 NearDedupFingerprint(const v1::NearDedupRecord& r) {
  Hasher128 h;
  h.UpdateString("shardstream.near_dedup");
  h.UpdateU64(r.algorithm_version());
  h.UpdateU64(r.permutations());
  h.UpdateU64(r.ngram());
  h.UpdateU64(r.seed());
  h.UpdateString(absl::StrCat(r.threshold()));
  h.UpdateU64(r.bands());
  h.UpdateU64(r.rows());
  h.UpdateString(absl::StrCat(r.verify_margin()));
  return h.Digest();
}

absl::StatusOr<std::map<uint32_t, v1::MinHashFile>> NearDupStore::SignedFiles() const {
  std::map<uint32_t, v1::MinHashFile> out;
  absl::Status parse_error;
  RETURN_IF_ERROR(catalog_->ForEachEntry(
      schema::kMinHashFilesFamily, [&](std::string_view, std::string_view value) {
        v1::MinHashFile f;
        if (!f.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError("unreadable minhash_files record");
          return;
        }
        out.emplace(f.file_id(), std::move(f));
      }));
  RETURN_IF_ERROR(parse_error);
  return out;
}

SignatureWriter::~SignatureWriter() = default;

absl::Status SignatureWriter::Add(uint64_t doc_id, const std::vector<uint16_t>& signature) {
  PackSignature(signature, &packed_);
  return entries_->Add(schema::DocKey(doc_id), packed_);
}

absl::Status SignatureWriter::Finish() { return entries_->Finish(); }

std::unique_ptr<SignatureWriter> NearDupStore::NewFileWriter(uint32_t file_id) const {
  auto writer = std::unique_ptr<SignatureWriter>(new SignatureWriter());
  writer->entries_ = std::make_unique<FileEntries>(
      absl::StrCat(SignatureIngestDir(catalog_->dir()), "/", file_id, ".sst"),
      &storage().sst_options(Family::kMinHash), storage().handle(Family::kMinHash));
  return writer;
}

absl::Status NearDupStore::RemoveLeftoverSstFiles() {
  RETURN_IF_ERROR(WritableStorage(writable_, "near-duplicate store").status());
  return RemoveSstDirectory(SignatureIngestDir(catalog_->dir()));
}

absl::Status NearDupStore::CommitFile(const v1::MinHashFile& record, SignatureWriter& signatures,
                                      const v1::MinHashFile* replaces) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "near-duplicate store"));
  rocksdb::WriteBatch batch;
  if (replaces != nullptr && replaces->num_docs() > 0) {
    RETURN_IF_ERROR(FromRocksDb(
        batch.DeleteRange(storage->handle(Family::kMinHash),
                          schema::DocKey(replaces->first_doc_id()),
                          schema::DocKey(replaces->first_doc_id() + replaces->num_docs())),
        "stage"));
  }
  return signatures.entries_->Commit(storage->db(), &batch, storage->handle(Family::kMinHashFiles),
                                     schema::FileKey(record.file_id()),
                                     schema::SerializeRecord(record),
                                     absl::StrCat("commit signatures of file ", record.file_id()));
}

absl::Status NearDupStore::DropFile(const v1::MinHashFile& file) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "near-duplicate store"));
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocksDb(
      batch.DeleteRange(storage->handle(Family::kMinHash), schema::DocKey(file.first_doc_id()),
                        schema::DocKey(file.first_doc_id() + file.num_docs())),
      "stage"));
  RETURN_IF_ERROR(FromRocksDb(
      batch.Delete(storage->handle(Family::kMinHashFiles), schema::FileKey(file.file_id())),
      "stage"));
  return FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                     absl::StrCat("drop signatures of file ", file.file_id()));
}

absl::Status NearDupStore::ReadSignature(uint64_t doc_id, std::vector<uint16_t>* out) const {
  if (storage().handle(Family::kMinHash) == nullptr) {
    return absl::NotFoundError(absl::StrCat("document ", doc_id, " has no signature"));
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status s = storage().db()->Get(
      rocksdb::ReadOptions(), storage().handle(Family::kMinHash), schema::DocKey(doc_id), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("document ", doc_id, " has no signature"));
  }
  RETURN_IF_ERROR(FromRocksDb(s, "read signature"));
  return UnpackSignature(value.ToStringView(), out);
}

absl::Status NearDupStore::ForEachSignature(
    const std::function<void(uint64_t doc_id, const std::vector<uint16_t>& signature)>& fn) const {
  absl::Status status;
  std::vector<uint16_t> signature;
  RETURN_IF_ERROR(catalog_->ForEachEntry(schema::kMinHashFamily,
                                         [&](std::string_view key, std::string_view value) {
                                           if (!status.ok()) return;
                                           status = UnpackSignature(value, &signature);
                                           if (status.ok())
                                             fn(schema::DocIdFromKey(key), signature);
                                         }));
  return status;
}

absl::StatusOr<std::optional<v1::NearDedupRecord>> NearDupStore::Record() const {
  std::string value;
  rocksdb::Status s = storage().db()->Get(rocksdb::ReadOptions(), storage().handle(Family::kMeta),
                                          schema::kNearDedupKey, &value);
  if (s.IsNotFound()) return std::optional<v1::NearDedupRecord>();
  RETURN_IF_ERROR(FromRocksDb(s, "read near-dedup record"));
  v1::NearDedupRecord record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError("unreadable near-dedup record");
  }
  return std::optional<v1::NearDedupRecord>(std::move(record));
}

absl::StatusOr<NearDedupState> NearDupStore::State() const {
  ASSIGN_OR_RETURN(std::optional<v1::NearDedupRecord> record, Record());
  if (!record.has_value()) return NearDedupState::kNotRun;
  const Hash128 clustered{record->dataset_version_hi(), record->dataset_version_lo()};
  return clustered == catalog_->version() ? NearDedupState::kCurrent : NearDedupState::kStale;
}

absl::Status NearDupStore::BeginClustering() {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "near-duplicate store"));
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(
      FromRocksDb(batch.Delete(storage->handle(Family::kMeta), schema::kNearDedupKey), "stage"));
  RETURN_IF_ERROR(FromRocksDb(
      batch.DeleteRange(storage->handle(Family::kNearDups), std::string(), EndOfDocKeys()),
      "stage"));
  return FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                     "clear the previous clustering");
}

absl::Status NearDupStore::PutNearDuplicates(
    const std::vector<std::pair<uint64_t, v1::NearDuplicate>>& dups) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "near-duplicate store"));
  rocksdb::WriteBatch batch;
  for (const auto& [doc_id, dup] : dups) {
    RETURN_IF_ERROR(FromRocksDb(batch.Put(storage->handle(Family::kNearDups),
                                          schema::DocKey(doc_id), schema::SerializeRecord(dup)),
                                "stage"));
  }
  return FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                     "write near duplicates");
}

absl::Status NearDupStore::FinishClustering(const v1::NearDedupRecord& record) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "near-duplicate store"));
  return FromRocksDb(storage->db()->Put(rocksdb::WriteOptions(), storage->handle(Family::kMeta),
                                        schema::kNearDedupKey, schema::SerializeRecord(record)),
                     "write near-dedup record");
}

absl::StatusOr<std::optional<v1::NearDuplicate>> NearDupStore::GetNearDuplicate(
    uint64_t doc_id) const {
  if (storage().handle(Family::kNearDups) == nullptr) return std::optional<v1::NearDuplicate>();
  std::string value;
  rocksdb::Status s = storage().db()->Get(
      rocksdb::ReadOptions(), storage().handle(Family::kNearDups), schema::DocKey(doc_id), &value);
  if (s.IsNotFound()) return std::optional<v1::NearDuplicate>();
  RETURN_IF_ERROR(FromRocksDb(s, "read near duplicate"));
  v1::NearDuplicate dup;
  if (!dup.ParseFromString(value)) return absl::DataLossError("unreadable near_dups record");
  return std::optional<v1::NearDuplicate>(std::move(dup));
}

absl::Status NearDupStore::ForEachNearDuplicate(
    const std::function<void(uint64_t doc_id, const v1::NearDuplicate& dup)>& fn) const {
  absl::Status parse_error;
  RETURN_IF_ERROR(catalog_->ForEachEntry(
      schema::kNearDupsFamily, [&](std::string_view key, std::string_view value) {
        v1::NearDuplicate dup;
        if (!dup.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError("unreadable near_dups record");
          return;
        }
        fn(schema::DocIdFromKey(key), dup);
      }));
  return parse_error;
}

}  // namespace shardstream
