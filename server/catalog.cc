#include "server/catalog.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "server/catalog_schema.h"
#include "server/dedup_index.h"
#include "server/doc_record_wire.h"
#include "server/rocksdb_status.h"
#include "server/sst_file.h"

namespace shardstream {
namespace {

namespace schema = catalog_schema;

void SetVersion(v1::DatasetMeta* meta, const Hash128& version) {
  meta->set_version_hi(version.hi);
  meta->set_version_lo(version.lo);
  meta->clear_version_stale();
}

Hash128 DocHash(const v1::DocRecord& doc) { return Hash128{doc.hash_hi(), doc.hash_lo()}; }

// Where SST files are built before they are ingested, inside the catalog directory.
constexpr char kDedupIngestDir[] = "dedup-ingest";
constexpr char kRecordsIngestDir[] = "docs-ingest";

}  // namespace

absl::StatusOr<std::unique_ptr<Catalog>> Catalog::Open(const std::string& dir,
                                                       const CatalogOptions& options) {
  auto catalog = std::unique_ptr<Catalog>(new Catalog());
  ASSIGN_OR_RETURN(catalog->storage_, CatalogStorage::Open(dir, options));
  catalog->dir_ = dir;
  catalog->read_only_ = options.read_only;
  catalog->db_ = catalog->storage_->db();
  catalog->meta_cf_ = catalog->storage_->handle(Family::kMeta);
  catalog->files_cf_ = catalog->storage_->handle(Family::kFiles);
  catalog->docs_cf_ = catalog->storage_->handle(Family::kDocs);
  catalog->dedup_cf_ = catalog->storage_->handle(Family::kDedup);
  catalog->dedup_ = std::make_unique<DedupIndex>(catalog->db_, catalog->dedup_cf_,
                                                 &catalog->storage_->sst_options(Family::kDedup),
                                                 dir + "/" + kDedupIngestDir + "/entries.sst");
  // What an interrupted writer left half-written: nothing refers to it.
  if (!options.read_only) RETURN_IF_ERROR(catalog->RemoveIngestDirectories());
  RETURN_IF_ERROR(catalog->Load());
  return catalog;
}

Catalog::~Catalog() = default;

void Catalog::set_record_spill_bytes(size_t bytes) {
  record_spill_bytes_ = bytes;
  records_.reset();  // made anew with it by the next add
}

absl::Status Catalog::Load() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, schema::kDatasetKey, &value);
  if (s.IsNotFound()) {
    meta_.Clear();
    meta_.set_schema_version(schema::kSchemaVersion);
  } else {
    RETURN_IF_ERROR(FromRocksDb(s, "read catalog meta"));
    if (!meta_.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("catalog ", dir_, ": unreadable dataset record"));
    }
    if (meta_.schema_version() != schema::kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "catalog ", dir_, " has schema version ", meta_.schema_version(), "; this build reads ",
          schema::kSchemaVersion, ". Re-index into a new --db directory."));
    }
  }
  files_.clear();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), files_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::FileRecord file;
    if (!file.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("catalog ", dir_, ": unreadable file record"));
    }
    files_.emplace(file.file_id(), std::move(file));
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "read catalog files"));
  if (meta_.version_stale()) {
    stored_version_stale_ = true;
    SetVersion(&meta_, ComputeVersion(meta_.text_field(), files_));
  }
  if (!read_only_) RETURN_IF_ERROR(FinishInterruptedCommits());
  return absl::OkStatus();
}

void Catalog::DeferVersion() { defer_version_ = true; }

absl::Status Catalog::UpdateVersion() {
  defer_version_ = false;
  if (!meta_.version_stale() && !stored_version_stale_) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  return Commit(&batch, meta_, std::nullopt, "update the dataset version");
}

rocksdb::ColumnFamilyHandle* Catalog::Family(std::string_view name) const {
  return storage_->handle(name);
}

absl::Status Catalog::RequireIndexed() const {
  if (files_.empty() && owned_partitions().size() == partitions()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the catalog in ", dir_, " is empty; run `shardstream index` first"));
  }
  return absl::OkStatus();
}

std::vector<uint32_t> Catalog::owned_partitions() const {
  if (meta_.owned_partitions_size() > 0) {
    return {meta_.owned_partitions().begin(), meta_.owned_partitions().end()};
  }
  std::vector<uint32_t> all(partitions());
  for (uint32_t p = 0; p < all.size(); ++p) all[p] = p;
  return all;
}

absl::Status Catalog::SetPartitioning(uint32_t partitions, const std::vector<uint32_t>* owned) {
  if (read_only_) return absl::FailedPreconditionError("catalog opened read-only");
  if (partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("--partitions must be in [1, ", kMaxPartitions, "], got ", partitions));
  }
  v1::DatasetMeta meta = meta_;
  const bool fixed = meta_.partitions() != 0 || !files_.empty();
  if (partitions != 0 && partitions != this->partitions() && fixed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "catalog ", dir_, " is a dataset of ", this->partitions(),
        " partitions, fixed when it was first indexed; re-partitioning is a new dataset: index "
        "into a new --db directory with --partitions ",
        partitions));
  }
  meta.set_partitions(partitions != 0 ? partitions : this->partitions());
  if (owned != nullptr) {
    meta.clear_owned_partitions();
    for (uint32_t p : *owned) {
      if (p >= meta.partitions()) {
        return absl::InvalidArgumentError(
            absl::StrCat("partition ", p, " does not exist (P = ", meta.partitions(), ")"));
      }
    }
    if (owned->size() != meta.partitions()) {  // all: stored as none
      for (uint32_t p : *owned) meta.add_owned_partitions(p);
    }
  }
  if (meta.SerializeAsString() == meta_.SerializeAsString()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  return Commit(&batch, std::move(meta), std::nullopt, "set partitions");
}

std::vector<PartFiles> Catalog::Parts() const {
  std::map<PartKey, PartFiles> parts;
  for (const auto& [id, file] : files_) {
    if (file.num_docs() == 0) continue;
    PartFiles& part = parts[PartOf(file)];
    part.files.push_back(&file);
    part.docs += file.num_docs();
  }
  std::vector<PartFiles> out;
  for (auto& [key, part] : parts) {
    part.key = key;
    std::sort(
        part.files.begin(), part.files.end(),
        [](const v1::FileRecord* a, const v1::FileRecord* b) { return a->path() < b->path(); });
    Hasher128 h;
    h.UpdateString("shardstream.part-version.v1");
    h.UpdateString(meta_.text_field());
    h.UpdateU64(partitions());
    h.UpdateString(key.source);
    h.UpdateU64(key.partition);
    for (const v1::FileRecord* f : part.files) {
      h.UpdateU64(f->num_docs());
      h.UpdateHash(Hash128{f->digest_hi(), f->digest_lo()});
    }
    part.version = h.Digest();
    out.push_back(std::move(part));
  }
  return out;
}

absl::Status Catalog::SetTextField(const std::string& text_field) {
  if (text_field.empty()) return absl::InvalidArgumentError("the text field name is empty");
  if (meta_.text_field() == text_field) return absl::OkStatus();
  if (!files_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("catalog ", dir_, " was indexed with text field \"", meta_.text_field(),
                     "\"; index with --text-field ", meta_.text_field(),
                     " or use a new --db directory for field \"", text_field, "\""));
  }
  rocksdb::WriteBatch batch;
  v1::DatasetMeta meta = meta_;
  meta.set_text_field(text_field);
  return Commit(&batch, std::move(meta), std::nullopt, "set text field");
}

Hash128 Catalog::ComputeVersion(const std::string& text_field,
                                const std::map<uint32_t, v1::FileRecord>& files) {
  std::vector<const v1::FileRecord*> ordered;
  for (const auto& [id, file] : files) {
    if (file.num_docs() > 0) ordered.push_back(&file);
  }
  std::sort(ordered.begin(), ordered.end(), [](const v1::FileRecord* a, const v1::FileRecord* b) {
    return a->first_doc_id() < b->first_doc_id();
  });
  Hasher128 hasher;
  hasher.UpdateU64(catalog_schema::kSchemaVersion);
  hasher.UpdateString(text_field);
  for (const v1::FileRecord* file : ordered) {
    hasher.UpdateU64(file->num_docs());
    hasher.UpdateHash(Hash128{file->digest_hi(), file->digest_lo()});
  }
  return hasher.Digest();
}

absl::Status Catalog::Commit(rocksdb::WriteBatch* batch, v1::DatasetMeta meta,
                             std::optional<FileChange> change, const std::string& what) {
  // Apply the change to the mirrors first (the fingerprint is computed from them) and undo it
  // if the write fails, so the mirrors always equal what is on disk.
  const v1::DatasetMeta old_meta = meta_;
  std::optional<v1::FileRecord> old_file;
  if (change.has_value()) {
    if (auto it = files_.find(change->file_id); it != files_.end()) old_file = it->second;
    if (change->record.has_value()) {
      RETURN_IF_ERROR(FromRocksDb(batch->Put(files_cf_, schema::FileKey(change->file_id),
                                             schema::SerializeRecord(*change->record)),
                                  "stage file record"));
      files_[change->file_id] = *change->record;
    } else {
      RETURN_IF_ERROR(FromRocksDb(batch->Delete(files_cf_, schema::FileKey(change->file_id)),
                                  "stage file record"));
      files_.erase(change->file_id);
    }
  }
  meta_ = std::move(meta);
  if (defer_version_) {
    meta_.set_version_stale(true);
  } else {
    SetVersion(&meta_, ComputeVersion(meta_.text_field(), files_));
  }
  absl::Status status = FromRocksDb(
      batch->Put(meta_cf_, schema::kDatasetKey, schema::SerializeRecord(meta_)), "stage meta");
  if (status.ok()) status = FromRocksDb(db_->Write(rocksdb::WriteOptions(), batch), what);
  if (!status.ok()) {
    meta_ = old_meta;
    if (change.has_value()) {
      if (old_file.has_value()) {
        files_[change->file_id] = *std::move(old_file);
      } else {
        files_.erase(change->file_id);
      }
    }
  } else {
    stored_version_stale_ = meta_.version_stale();
  }
  return status;
}

absl::StatusOr<v1::FileRecord> Catalog::AddFile(v1::FileRecord file,
                                                const std::vector<v1::DocRecord>& docs) {
  VectorDocumentSource source(docs);
  return AddFile(std::move(file), source);
}

absl::StatusOr<v1::FileRecord> Catalog::AddFile(v1::FileRecord file, DocumentSource& docs) {
  if (read_only_) return absl::FailedPreconditionError("catalog opened read-only");
  const uint64_t first = meta_.next_doc_id();
  absl::StatusOr<v1::FileRecord> added = AddDocuments(std::move(file), docs);
  if (!added.ok()) {
    dedup_->DropFrom(first);
    return added.status();
  }
  if (dedup_->memory_bytes() >= dedup_memory_bytes_) RETURN_IF_ERROR(WriteDedupEntries());
  return added;
}

absl::StatusOr<v1::FileRecord> Catalog::AddDocuments(v1::FileRecord file, DocumentSource& docs) {
  const uint32_t file_id = meta_.next_file_id();
  const uint64_t first = meta_.next_doc_id();
  file.set_file_id(file_id);
  file.set_first_doc_id(first);
  const std::string what = absl::StrCat("add file ", file.path());

  rocksdb::WriteBatch batch;
  if (records_ == nullptr) {
    records_ = std::make_unique<FileEntries>(dir_ + "/" + kRecordsIngestDir + "/records.sst",
                                             &storage_->sst_options(Family::kDocs), docs_cf_,
                                             record_spill_bytes_);
  }
  FileEntries* const records = records_.get();
  records->Reset();
  // Writes the records of the part that ends before `end` as pending documents: in `batch`
  // with the meta, or, spilled, ingested after a commit that marks them pending (so an
  // interruption between the two deletes them).
  auto commit_part = [&](uint64_t end) -> absl::Status {
    RETURN_IF_ERROR(records->Finish());
    RETURN_IF_ERROR(records->Stage(&batch));
    v1::DatasetMeta meta = meta_;
    meta.set_pending_doc_end(end);
    RETURN_IF_ERROR(Commit(&batch, std::move(meta), std::nullopt, what));
    batch.Clear();
    RETURN_IF_ERROR(records->Ingest(db_));
    records->Reset();
    return absl::OkStatus();
  };
  // Records stay serialized (server/doc_record_wire.h). One is read ahead: its dedup slot is
  // fetched into the cache while this one is written (a probe of a table of tens of MB is a
  // cache miss otherwise).
  std::string doc, next, linked;
  ReadDocRecord read, next_read;
  auto take = [&docs](std::string* into, ReadDocRecord* scanned) -> absl::StatusOr<bool> {
    std::string_view record;
    ASSIGN_OR_RETURN(bool more, docs.NextSerialized(&record));
    if (!more) return false;
    into->assign(record);
    ASSIGN_OR_RETURN(*scanned, ScanReadDocRecord(*into));
    return true;
  };
  ASSIGN_OR_RETURN(bool more, take(&doc, &read));
  uint64_t id = first;
  for (; more; std::swap(doc, next), std::swap(read, next_read), ++id) {
    ASSIGN_OR_RETURN(more, take(&next, &next_read));
    if (more) dedup_->Prefetch(next_read.hash);
    const bool dedup_full =
        dedup_memory_bytes_ > 0 && dedup_->memory_bytes() >= dedup_memory_bytes_;
    if (records->bytes() >= max_batch_bytes_ || dedup_full) {
      // A part of the documents ahead of the record: pending until the record is written.
      RETURN_IF_ERROR(commit_part(id));
      // Every document held has its record written now: its entry may go before the file's
      // record (an interrupted add deletes the pending documents and their entries).
      if (dedup_->memory_bytes() >= dedup_memory_bytes_) RETURN_IF_ERROR(WriteDedupEntries());
    }
    ASSIGN_OR_RETURN(std::optional<uint64_t> original, dedup_->AddDocument(read.hash, id));
    linked.clear();
    AppendLinkedDocRecord(doc, read, file_id, original, &linked);
    RETURN_IF_ERROR(records->Add(schema::DocKey(id), linked));
  }
  // Spilled, the last part too is ingested ahead of the record; else it commits with it.
  if (records->spilled()) RETURN_IF_ERROR(commit_part(id));
  RETURN_IF_ERROR(records->Stage(&batch));
  file.set_num_docs(id - first);
  v1::DatasetMeta meta = meta_;
  meta.set_next_file_id(file_id + 1);
  meta.set_next_doc_id(id);
  meta.clear_pending_doc_end();
  if (!dedup_->empty()) {
    meta.set_dedup_unwritten_first(dedup_->first_id());
    meta.set_dedup_unwritten_end(id);
  }
  RETURN_IF_ERROR(Commit(&batch, std::move(meta), FileChange{file_id, file}, what));
  return file;
}

absl::Status Catalog::WriteDedupEntries() {
  if (read_only_ || dedup_->empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(dedup_->WriteTo(&batch).status());
  v1::DatasetMeta meta = meta_;
  meta.clear_dedup_unwritten_first();
  meta.clear_dedup_unwritten_end();
  return Commit(&batch, std::move(meta), std::nullopt, "write dedup entries");
}

absl::Status Catalog::RefreshFile(const v1::FileRecord& file,
                                  const std::vector<v1::DocRecord>& docs) {
  VectorDocumentSource source(docs);
  return RefreshFile(file, source);
}

absl::Status Catalog::RefreshFile(const v1::FileRecord& file, DocumentSource& docs) {
  if (read_only_) return absl::FailedPreconditionError("catalog opened read-only");
  auto found = files_.find(file.file_id());
  if (found == files_.end()) {
    return absl::NotFoundError(absl::StrCat("no file with id ", file.file_id()));
  }
  const v1::FileRecord& old = found->second;
  const std::string changed =
      absl::StrCat("the documents of ", file.path(), " changed; remove and add it instead");
  if (old.digest_hi() != file.digest_hi() || old.digest_lo() != file.digest_lo()) {
    return absl::FailedPreconditionError(changed);
  }
  const std::string what = absl::StrCat("refresh file ", file.path());
  rocksdb::WriteBatch batch;
  v1::FileRecord updated = file;
  updated.set_first_doc_id(old.first_doc_id());
  updated.set_num_docs(old.num_docs());
  v1::DocRecord doc;
  uint64_t i = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, docs.Next(&doc));
    if (!more) break;
    if (i >= old.num_docs()) return absl::FailedPreconditionError(changed);
    const uint64_t id = old.first_doc_id() + i++;
    ASSIGN_OR_RETURN(v1::DocRecord stored, GetDoc(id));
    if (stored.line() == doc.line()) continue;
    stored.set_line(doc.line());
    RETURN_IF_ERROR(FromRocksDb(
        batch.Put(docs_cf_, schema::DocKey(id), schema::SerializeRecord(stored)), "stage"));
    if (batch.GetDataSize() >= max_batch_bytes_) {
      // Line numbers only: the old record stays until all are written.
      RETURN_IF_ERROR(FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), what));
      batch.Clear();
    }
  }
  if (i != old.num_docs()) return absl::FailedPreconditionError(changed);
  const uint32_t file_id = updated.file_id();
  return Commit(&batch, meta_, FileChange{file_id, std::move(updated)}, what);
}

absl::Status Catalog::RemoveFile(uint32_t file_id) {
  if (read_only_) return absl::FailedPreconditionError("catalog opened read-only");
  auto found = files_.find(file_id);
  if (found == files_.end()) return absl::NotFoundError(absl::StrCat("no file with id ", file_id));
  const v1::FileRecord& file = found->second;
  return RemoveDocuments(file.first_doc_id(), file.first_doc_id() + file.num_docs(),
                         FileChange{file_id, std::nullopt},
                         absl::StrCat("remove file ", file.path()));
}

absl::Status Catalog::RemoveDocuments(uint64_t first, uint64_t end,
                                      std::optional<FileChange> change, const std::string& what) {
  // Promotions look for copies in the family: every entry must be in it.
  RETURN_IF_ERROR(WriteDedupEntries());
  absl::Cleanup refresh = [this] { dedup_->Refresh(); };
  rocksdb::WriteBatch batch;
  std::set<Hash128> orphaned;  // texts whose original is in this part of the range
  // Promotes the earliest copy outside [first, end) of each orphaned text; repoints the others.
  auto promote = [&]() -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(DedupProbeOptions(), dedup_cf_));
    for (const Hash128& hash : orphaned) {
      const std::string prefix = hash.ToBytes();
      std::optional<uint64_t> original;
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        const uint64_t id = schema::DocIdFromDedupKey(it->key().ToStringView());
        if (id >= first && id < end) continue;
        ASSIGN_OR_RETURN(v1::DocRecord doc, GetDoc(id));
        if (!original.has_value()) {
          original = id;
          doc.clear_duplicate_of();
        } else {
          doc.set_duplicate_of(*original);
        }
        RETURN_IF_ERROR(FromRocksDb(
            batch.Put(docs_cf_, schema::DocKey(id), schema::SerializeRecord(doc)), "stage"));
      }
      RETURN_IF_ERROR(FromRocksDb(it->status(), "read dedup"));
    }
    orphaned.clear();
    return absl::OkStatus();
  };
  // A part's deletions and promotions commit together, so what is left in the range is exactly
  // what a resumed removal still has to do.
  auto commit = [&](bool last) -> absl::Status {
    RETURN_IF_ERROR(promote());
    v1::DatasetMeta meta = meta_;
    if (last) {
      meta.clear_removing_first();
      meta.clear_removing_end();
    } else {
      meta.set_removing_first(first);
      meta.set_removing_end(end);
    }
    RETURN_IF_ERROR(Commit(&batch, std::move(meta), std::exchange(change, std::nullopt), what));
    batch.Clear();
    return absl::OkStatus();
  };
  DocCursor docs(this, first, end);
  uint64_t id;
  v1::DocRecord doc;
  while (true) {
    ASSIGN_OR_RETURN(bool more, docs.Next(&id, &doc));
    if (!more) break;
    if (batch.GetDataSize() >= max_batch_bytes_) RETURN_IF_ERROR(commit(/*last=*/false));
    const Hash128 hash = DocHash(doc);
    if (!doc.has_duplicate_of()) orphaned.insert(hash);
    RETURN_IF_ERROR(FromRocksDb(batch.Delete(docs_cf_, schema::DocKey(id)), "stage"));
    RETURN_IF_ERROR(FromRocksDb(batch.Delete(dedup_cf_, schema::DedupKey(hash, id)), "stage"));
  }
  return commit(/*last=*/true);
}

absl::Status Catalog::FinishInterruptedCommits() {
  if (meta_.dedup_unwritten_end() > meta_.dedup_unwritten_first()) {
    // Documents an interrupted index run added without writing their dedup entries: each
    // text's entry is (hash, id) whether the document is an original or a copy.
    const std::string what = "write the dedup entries of an interrupted index run";
    std::unique_ptr<DocCursor> docs =
        NewDocCursor(meta_.dedup_unwritten_first(), meta_.dedup_unwritten_end());
    rocksdb::WriteBatch batch;
    uint64_t id;
    v1::DocRecord doc;
    while (true) {
      ASSIGN_OR_RETURN(bool more, docs->Next(&id, &doc));
      if (!more) break;
      if (batch.GetDataSize() >= max_batch_bytes_) {
        RETURN_IF_ERROR(FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), what));
        batch.Clear();
      }
      RETURN_IF_ERROR(
          FromRocksDb(batch.Put(dedup_cf_, schema::DedupKey(DocHash(doc), id), ""), "stage"));
    }
    v1::DatasetMeta meta = meta_;
    meta.clear_dedup_unwritten_first();
    meta.clear_dedup_unwritten_end();
    RETURN_IF_ERROR(Commit(&batch, std::move(meta), std::nullopt, what));
    dedup_->Refresh();
  }
  if (meta_.removing_end() > meta_.removing_first()) {
    RETURN_IF_ERROR(RemoveDocuments(meta_.removing_first(), meta_.removing_end(), std::nullopt,
                                    "finish an interrupted removal"));
  }
  if (meta_.pending_doc_end() > meta_.next_doc_id()) {
    // Documents of a file whose add did not finish. They were no file's yet, so no document
    // outside them is a copy of one of them: removing them promotes nothing. If this removal
    // is interrupted in turn, the next Open finishes it through removing_first/end above.
    RETURN_IF_ERROR(RemoveDocuments(meta_.next_doc_id(), meta_.pending_doc_end(), std::nullopt,
                                    "delete pending documents"));
    v1::DatasetMeta meta = meta_;
    meta.clear_pending_doc_end();
    rocksdb::WriteBatch batch;
    RETURN_IF_ERROR(Commit(&batch, std::move(meta), std::nullopt, "delete pending documents"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DocRecord> Catalog::GetDoc(uint64_t doc_id) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), docs_cf_, schema::DocKey(doc_id), &value);
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no document ", doc_id));
  RETURN_IF_ERROR(FromRocksDb(s, "read doc"));
  v1::DocRecord doc;
  if (!doc.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("catalog ", dir_, ": unreadable doc ", doc_id));
  }
  return doc;
}

absl::Status Catalog::ForEachDoc(
    const std::function<bool(uint64_t doc_id, const v1::DocRecord& doc)>& fn) const {
  // Not the documents of a pending add or an unfinished removal: no file holds them.
  const uint64_t removing_first = meta_.removing_first(), removing_end = meta_.removing_end();
  return ForEachDocInRange(0, meta_.next_doc_id(), [&](uint64_t id, const v1::DocRecord& doc) {
    return (id >= removing_first && id < removing_end) || fn(id, doc);
  });
}

absl::Status Catalog::ForEachDocInRange(
    uint64_t first, uint64_t end,
    const std::function<bool(uint64_t doc_id, const v1::DocRecord& doc)>& fn) const {
  DocCursor docs(this, first, end);
  uint64_t id;
  v1::DocRecord doc;
  while (true) {
    ASSIGN_OR_RETURN(bool more, docs.Next(&id, &doc));
    if (!more || !fn(id, doc)) return absl::OkStatus();
  }
}

Catalog::DocCursor::DocCursor(const Catalog* catalog, uint64_t first, uint64_t end)
    : catalog_(catalog), first_(first), end_(end) {}

Catalog::DocCursor::~DocCursor() = default;

absl::StatusOr<bool> Catalog::DocCursor::Next(uint64_t* id, v1::DocRecord* doc) {
  if (it_ == nullptr) {
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;  // a scan would only evict what is worth caching
    it_.reset(catalog_->db_->NewIterator(read_options, catalog_->docs_cf_));
    it_->Seek(schema::DocKey(first_));
  } else {
    it_->Next();
  }
  if (!it_->Valid()) {
    RETURN_IF_ERROR(FromRocksDb(it_->status(), "scan docs"));
    return false;
  }
  *id = schema::DocIdFromKey(it_->key().ToStringView());
  if (*id >= end_) return false;
  if (!doc->ParseFromArray(it_->value().data(), static_cast<int>(it_->value().size()))) {
    return absl::DataLossError(absl::StrCat("catalog ", catalog_->dir_, ": unreadable doc ", *id));
  }
  return true;
}

std::unique_ptr<Catalog::DocCursor> Catalog::NewDocCursor(uint64_t first, uint64_t end) const {
  return std::unique_ptr<DocCursor>(new DocCursor(this, first, end));
}

absl::Status Catalog::ForEachEntry(
    std::string_view family,
    const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  rocksdb::ColumnFamilyHandle* handle = Family(family);
  if (handle == nullptr && CatalogStorage::MayBeAbsent(family)) {
    return absl::OkStatus();  // an older catalog opened read-only: empty
  }
  if (handle == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no column family \"", std::string(family), "\""));
  }
  rocksdb::ReadOptions read_options;
  read_options.total_order_seek = true;  // dedup has a prefix extractor; scan across prefixes
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, handle));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    fn(it->key().ToStringView(), it->value().ToStringView());
  }
  return FromRocksDb(it->status(), absl::StrCat("scan ", std::string(family)));
}

uint64_t Catalog::sequence() const { return storage_->sequence(); }

BlockCacheCounts Catalog::block_cache_counts() const { return storage_->block_cache_counts(); }

absl::Status Catalog::Flush() {
  RETURN_IF_ERROR(WriteDedupEntries());
  if (!read_only_) {
    records_.reset();
    RETURN_IF_ERROR(RemoveIngestDirectories());
  }
  return storage_->Flush();
}

absl::Status Catalog::RemoveIngestDirectories() {
  for (const char* ingest_dir : {kDedupIngestDir, kRecordsIngestDir}) {
    RETURN_IF_ERROR(RemoveSstDirectory(dir_ + "/" + ingest_dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Catalog::DiskBytes() const { return storage_->DiskBytes(); }

}  // namespace shardstream
