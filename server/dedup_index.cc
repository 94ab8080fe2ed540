#include "server/dedup_index.h"

#include <algorithm>
#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "server/catalog_schema.h"
#include "server/rocksdb_status.h"
#include "server/sst_file.h"

namespace shardstream {

namespace schema = catalog_schema;

rocksdb::ReadOptions DedupProbeOptions() {
  rocksdb::ReadOptions options;
  options.prefix_same_as_start = true;
  return options;
}

DedupIndex::DedupIndex(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                       const rocksdb::Options* sst_options, std::string sst_path, size_t sst_bytes)
    : db_(db),
      family_(family),
      sst_options_(sst_options),
      sst_path_(std::move(sst_path)),
      sst_bytes_(sst_bytes) {}

DedupIndex::~DedupIndex() = default;

absl::StatusOr<std::optional<uint64_t>> DedupIndex::FindOriginal(const Hash128& hash) {
  if (std::optional<uint64_t> held = originals_.Find(hash)) return held;
  return FindStored(hash);
}

absl::StatusOr<std::optional<uint64_t>> DedupIndex::FindStored(const Hash128& hash) {
  if (probe_ == nullptr) {
    probe_.reset(db_->NewIterator(DedupProbeOptions(), family_));
    // A family without files or memtable entries (a new catalog's) needs no probe at all.
    // (Not a scan: it would walk over every tombstone that removals left.)
    rocksdb::ColumnFamilyMetaData files;
    db_->GetColumnFamilyMetaData(family_, &files);
    uint64_t active = 0, immutable = 0;
    family_empty_ =
        files.file_count == 0 &&
        db_->GetIntProperty(family_, rocksdb::DB::Properties::kNumEntriesActiveMemTable, &active) &&
        db_->GetIntProperty(family_, rocksdb::DB::Properties::kNumEntriesImmMemTables,
                            &immutable) &&
        active == 0 && immutable == 0;
  }
  if (family_empty_) return std::nullopt;
  // The first entry with this hash prefix, if any, is the original (smallest id).
  const std::string prefix = hash.ToBytes();
  probe_->Seek(prefix);
  RETURN_IF_ERROR(FromRocksDb(probe_->status(), "probe dedup"));
  if (probe_->Valid() && probe_->key().starts_with(prefix)) {
    return schema::DocIdFromDedupKey(probe_->key().ToStringView());
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<uint64_t>> DedupIndex::AddDocument(const Hash128& hash, uint64_t id) {
  OriginalTable::Found found = originals_.FindOrInsert(hash, id);
  if (found.inserted) {
    // On error the slot stays with `id`: DropFrom of the failed add forgets it.
    ASSIGN_OR_RETURN(std::optional<uint64_t> stored, FindStored(hash));
    if (stored.has_value()) {
      found.original = *stored;
      originals_.SetOriginal(hash, *stored);
    }
  }
  entries_.emplace_back(hash, id);
  if (found.original == id) return std::nullopt;
  return found.original;
}

void DedupIndex::DropFrom(uint64_t first) {
  // Texts first seen from `first` on have their original there; the others keep theirs.
  originals_.EraseFrom(first);
  auto from = std::lower_bound(entries_.begin(), entries_.end(), first,
                               [](const auto& entry, uint64_t id) { return entry.second < id; });
  entries_.erase(from, entries_.end());
}

void DedupIndex::Refresh() { probe_.reset(); }

void DedupIndex::SortEntries() {
  // Keys are big-endian (hash hi, lo, id): their numeric order is their byte order.
  auto less = [](const auto& a, const auto& b) {
    return std::tie(a.first.hi, a.first.lo, a.second) < std::tie(b.first.hi, b.first.lo, b.second);
  };
  constexpr int kBucketBits = 16;
  constexpr size_t kBuckets = size_t{1} << kBucketBits;
  if (entries_.size() < 4 * kBuckets) {
    std::sort(entries_.begin(), entries_.end(), less);
    return;
  }
  // Content hashes are uniform: a counting sort on the top bits leaves buckets of a few
  // entries each, sorted where they lie in the cache. One sort over a run of millions spent
  // most of its time waiting for memory.
  auto bucket = [](const Hash128& hash) { return hash.hi >> (64 - kBucketBits); };
  std::vector<size_t> starts(kBuckets + 1, 0);
  for (const auto& entry : entries_) ++starts[bucket(entry.first) + 1];
  for (size_t b = 1; b <= kBuckets; ++b) starts[b] += starts[b - 1];
  std::vector<std::pair<Hash128, uint64_t>> sorted(entries_.size());
  {
    std::vector<size_t> next(starts.begin(), starts.end() - 1);
    for (const auto& entry : entries_) sorted[next[bucket(entry.first)]++] = entry;
  }
  entries_ = std::move(sorted);
  for (size_t b = 0; b < kBuckets; ++b) {
    std::sort(entries_.begin() + starts[b], entries_.begin() + starts[b + 1], less);
  }
}

size_t DedupIndex::memory_bytes() const {
  return originals_.memory_bytes() + entries_.capacity() * sizeof(entries_[0]);
}

absl::StatusOr<bool> DedupIndex::WriteTo(rocksdb::WriteBatch* batch) {
  // Emptied however this ends: sorted, the entries are no longer in id order.
  absl::Cleanup clear = [this] {
    originals_.Clear();
    entries_ = std::vector<std::pair<Hash128, uint64_t>>();  // freed (`= {}` keeps the capacity)
    Refresh();
  };
  originals_.Clear();  // not needed to write: its memory serves the sort's
  SortEntries();
  constexpr size_t kKeyBytes = 24;
  const bool ingest = entries_.size() * kKeyBytes >= sst_bytes_;
  if (!ingest) {
    for (const auto& [hash, id] : entries_) {
      RETURN_IF_ERROR(FromRocksDb(batch->Put(family_, schema::DedupKey(hash, id), ""), "stage"));
    }
  } else {
    ASSIGN_OR_RETURN(std::unique_ptr<SstFile> sst,
                     SstFile::Create(sst_path_, *sst_options_, family_));
    for (const auto& [hash, id] : entries_) {
      RETURN_IF_ERROR(sst->Add(schema::DedupKey(hash, id), ""));
    }
    ASSIGN_OR_RETURN(std::string path, sst->Finish());
    RETURN_IF_ERROR(IngestSstFile(db_, family_, path));
  }
  return ingest;
}

}  // namespace shardstream
