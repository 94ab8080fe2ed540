#include "server/catalog_storage.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/write_buffer_manager.h"
#include "server/catalog_schema.h"
#include "server/rocksdb_status.h"

namespace shardstream {
namespace {

namespace schema = catalog_schema;

// How a family's data is read, which decides its table options.
enum class Shape {
  kRecords,     // protobuf records, scanned or read by key
  kDocRecords,  // protobuf records, one per document, written at corpus speed
  kDedup,       // probed by a 16-byte hash prefix
  kTokens,      // large values read by key in plan order
  kSignatures,  // incompressible MinHash minima read by key
};

struct FamilySpec {
  Family family;
  const char* name;  // persisted: never rename
  Shape shape;
  bool in_every_catalog;  // false: came after the schema's first catalogs
};

// Every family, in Family order.
constexpr FamilySpec kFamilies[kFamilyCount] = {
    {Family::kMeta, schema::kMetaFamily, Shape::kRecords, true},
    {Family::kFiles, schema::kFilesFamily, Shape::kRecords, true},
    {Family::kDocs, schema::kDocsFamily, Shape::kDocRecords, true},
    {Family::kDedup, schema::kDedupFamily, Shape::kDedup, true},
    {Family::kTokenizers, schema::kTokenizersFamily, Shape::kRecords, true},
    {Family::kTokenFiles, schema::kTokenFilesFamily, Shape::kRecords, true},
    {Family::kTokens, schema::kTokensFamily, Shape::kTokens, true},
    {Family::kMinHashFiles, schema::kMinHashFilesFamily, Shape::kRecords, false},
    {Family::kMinHash, schema::kMinHashFamily, Shape::kSignatures, false},
    {Family::kNearDups, schema::kNearDupsFamily, Shape::kRecords, false},
};

// The first of `preferred` this RocksDB build supports; none if it supports none of them.
rocksdb::CompressionType FirstSupported(std::initializer_list<rocksdb::CompressionType> preferred) {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType type : preferred) {
    if (std::find(supported.begin(), supported.end(), type) != supported.end()) return type;
  }
  return rocksdb::kNoCompression;
}

// Smallest on disk, for records written once and rarely.
rocksdb::CompressionType BestCompression() {
  return FirstSupported({rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
}

// Several times faster than ZSTD both ways, for what is written or read at corpus speed.
rocksdb::CompressionType FastCompression() {
  return FirstSupported({rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
}

// A quarter of the process's open-file limit (the rest is for corpus files, sockets and
// other catalogs), in [16, 8192].
int MaxOpenSstFiles() {
  struct rlimit limit;
  rlim_t soft = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    soft = limit.rlim_cur;
  }
  return static_cast<int>(std::clamp<rlim_t>(soft / 4, 16, 8192));
}

rocksdb::ColumnFamilyOptions OptionsFor(Shape shape, const std::shared_ptr<rocksdb::Cache>& cache) {
  auto table_options = [&cache](bool bloom, size_t block_size = 16 << 10, bool hash_index = false) {
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = cache;
    t.block_size = block_size;
    t.format_version = 5;
    if (hash_index) {
      // Point lookups find their key through a hash index inside each data block instead of a
      // binary search (a few percent more space).
      t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    }
    if (bloom) {
      t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      t.whole_key_filtering = false;  // dedup is probed by hash prefix only
    }
    return rocksdb::NewBlockBasedTableFactory(t);
  };
  rocksdb::ColumnFamilyOptions options;
  options.compression = BestCompression();
  switch (shape) {
    case Shape::kRecords:
      options.table_factory.reset(table_options(false));
      break;
    case Shape::kDocRecords:
      // Written at corpus speed, one per document: ZSTD would be the index's biggest cost.
      options.compression = FastCompression();
      options.table_factory.reset(table_options(false));
      break;
    case Shape::kDedup:
      // Random hashes: ZSTD finds no more to squeeze out of them than LZ4 does, at several
      // times the cost (an index writes a sorted run of every document's entry).
      options.compression = FastCompression();
      options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
      options.table_factory.reset(table_options(true));
      // A Bloom filter of the memtable's hash prefixes (a tenth of its size): the index probes
      // every new document's hash, and a probe of a text not seen (the common case) then skips
      // the memtable's skip list as the SST filters skip the files.
      options.memtable_prefix_bloom_size_ratio = 0.1;
      break;
    case Shape::kTokens: {
      // LZ4 decodes several times faster than ZSTD. Small blocks: a plan reads documents in
      // random order, so a lookup should decompress little more than the document it wants.
      options.compression = FastCompression();
      options.table_factory.reset(table_options(false, 4 << 10, /*hash_index=*/true));
      break;
    }
    case Shape::kSignatures:
      options.compression = rocksdb::kNoCompression;
      options.table_factory.reset(table_options(false, 4 << 10, /*hash_index=*/true));
      break;
  }
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CatalogStorage>> CatalogStorage::Open(
    const std::string& dir, const CatalogOptions& options) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
  if (!exists && (options.read_only || !options.create_if_missing)) {
    return absl::NotFoundError(absl::StrCat("no catalog in ", dir,
                                            "; build one with `shardstream index --db ", dir,
                                            " --corpus PATH`"));
  }
  if (!exists && !options.read_only) {
    // RocksDB creates the directory itself but not its parents (`--db /var/lib/x/catalog`).
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  }

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 3;
  db_options.max_log_file_size = 1 << 20;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // RocksDB keeps every SST file open by default; a bound makes it close the least recently
  // used ones, so a catalog opens and works under any `ulimit -n`, whatever its file count.
  db_options.max_open_files = MaxOpenSstFiles();
  if (options.write_buffer_bytes > 0) {
    db_options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes);
  }
  auto storage = std::unique_ptr<CatalogStorage>(new CatalogStorage());
  if (options.statistics) {
    storage->statistics_ = rocksdb::CreateDBStatistics();
    storage->statistics_->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
    db_options.statistics = storage->statistics_;
  }
  storage->dir_ = dir;
  storage->read_only_ = options.read_only;

  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, OptionsFor(Shape::kRecords, cache)}};
  for (const FamilySpec& f : kFamilies) {
    rocksdb::ColumnFamilyOptions family_options = OptionsFor(f.shape, cache);
    storage->options_[static_cast<size_t>(f.family)] =
        std::make_unique<rocksdb::Options>(db_options, family_options);
    families.push_back({f.name, family_options});
  }
  if (exists && options.read_only) {
    // A read-only open cannot create families: those a catalog from before them lacks stay
    // closed (nullptr), and read as empty.
    std::vector<std::string> present;
    RETURN_IF_ERROR(FromRocksDb(rocksdb::DB::ListColumnFamilies(db_options, dir, &present),
                                absl::StrCat("open catalog ", dir)));
    std::erase_if(families, [&](const rocksdb::ColumnFamilyDescriptor& f) {
      return std::find(present.begin(), present.end(), f.name) == present.end();
    });
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, dir, families, &storage->opened_, &db)
          : rocksdb::DB::Open(db_options, dir, families, &storage->opened_, &db);
  RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("open catalog ", dir)));
  storage->db_.reset(db);
  for (const FamilySpec& f : kFamilies) {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    for (rocksdb::ColumnFamilyHandle* h : storage->opened_) {
      if (h->GetName() == f.name) handle = h;
    }
    if (handle == nullptr && f.in_every_catalog) {
      return absl::FailedPreconditionError(
          absl::StrCat("catalog ", dir, " lacks column families of schema version ",
                       schema::kSchemaVersion, "; re-index into a new --db directory"));
    }
    storage->handles_[static_cast<size_t>(f.family)] = handle;
  }
  return storage;
}

CatalogStorage::~CatalogStorage() {
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : opened_) db_->DestroyColumnFamilyHandle(h);
  db_->Close().PermitUncheckedError();
}

rocksdb::ColumnFamilyHandle* CatalogStorage::handle(std::string_view name) const {
  for (const FamilySpec& f : kFamilies) {
    if (name == f.name) return handle(f.family);
  }
  return nullptr;
}

bool CatalogStorage::MayBeAbsent(std::string_view name) {
  for (const FamilySpec& f : kFamilies) {
    if (name == f.name) return !f.in_every_catalog;
  }
  return false;
}

uint64_t CatalogStorage::sequence() const { return db_->GetLatestSequenceNumber(); }

BlockCacheCounts CatalogStorage::block_cache_counts() const {
  if (statistics_ == nullptr) return {};
  return {statistics_->getTickerCount(rocksdb::BLOCK_CACHE_HIT),
          statistics_->getTickerCount(rocksdb::BLOCK_CACHE_MISS)};
}

absl::Status CatalogStorage::Flush() {
  if (read_only_) return absl::OkStatus();
  rocksdb::FlushOptions options;
  options.wait = true;
  RETURN_IF_ERROR(FromRocksDb(db_->Flush(options, opened_), "flush catalog"));
  return FromRocksDb(db_->FlushWAL(true), "sync catalog log");
}

absl::StatusOr<uint64_t> CatalogStorage::DiskBytes() const {
  std::error_code ec;
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_, ec)) {
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  }
  if (ec) return absl::InternalError(absl::StrCat("size of ", dir_, ": ", ec.message()));
  return total;
}

absl::StatusOr<CatalogStorage*> WritableStorage(CatalogStorage* writable, std::string_view store) {
  if (writable == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", std::string(store), " was opened for reading only"));
  }
  return writable;
}

}  // namespace shardstream
