// The one owner of a catalog directory's RocksDB: the database, its column families and the
// options each family is written with. The families are one table (catalog_storage.cc): name
// (persisted: never rename), options, and whether every catalog of the schema has it. Catalog
// (meta, files, docs, dedup), TokenStore (tokenizers, token_files, tokens) and NearDupStore
// (minhash_files, minhash, near_dups, meta/near_dedup) are peers over it, each keeping its own
// families (catalog_schema.h has the keys).
#ifndef SHARDSTREAM_SERVER_CATALOG_STORAGE_H_
#define SHARDSTREAM_SERVER_CATALOG_STORAGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Statistics;
struct Options;
}  // namespace rocksdb

namespace shardstream {

struct CatalogOptions {
  // Create an empty catalog (and the directories above it) when `dir` holds none. Ignored
  // when read_only.
  bool create_if_missing = true;
  // Open without the write lock: several readers may share a catalog with one writer; a reader
  // sees the catalog as it was when opened.
  bool read_only = false;
  // RocksDB block cache for catalog reads. Larger speeds up dedup lookups on big corpora.
  size_t block_cache_bytes = size_t{64} << 20;
  // Count block-cache hits and misses (BlockCacheCounts), for a server's metrics.
  bool statistics = false;
  // The most memory all memtables together take before RocksDB flushes them (0: RocksDB's
  // defaults, up to 128 MiB per family). A writer with a memory budget sets it.
  size_t write_buffer_bytes = 0;
};

struct BlockCacheCounts {
  uint64_t hits = 0;
  uint64_t misses = 0;
};

// The column families of a catalog, in the order of the table in catalog_storage.cc.
enum class Family : int {
  kMeta,
  kFiles,
  kDocs,
  kDedup,
  kTokenizers,
  kTokenFiles,
  kTokens,
  kMinHashFiles,
  kMinHash,
  kNearDups,
};
inline constexpr size_t kFamilyCount = 10;

// Thread-safety: as RocksDB's (reads and writes from any thread); Open and the destructor
// from one.
class CatalogStorage {
 public:
  // NOT_FOUND when `dir` holds no catalog (and create_if_missing is off or read_only);
  // FAILED_PRECONDITION when another process holds it for writing or a family every catalog
  // has is missing.
  static absl::StatusOr<std::unique_ptr<CatalogStorage>> Open(const std::string& dir,
                                                              const CatalogOptions& options);
  ~CatalogStorage();
  CatalogStorage(const CatalogStorage&) = delete;
  CatalogStorage& operator=(const CatalogStorage&) = delete;

  const std::string& dir() const { return dir_; }
  bool read_only() const { return read_only_; }
  // RocksDB's API has no const reads: peers that only read hold a const CatalogStorage and
  // use it for reads only (TokenStore and NearDupStore refuse writes when built on one).
  rocksdb::DB* db() const { return db_.get(); }
  // nullptr only for a family that came after the schema's first catalogs (the near-dedup
  // families), in such a catalog opened read-only: it reads as empty.
  rocksdb::ColumnFamilyHandle* handle(Family family) const {
    return handles_[static_cast<size_t>(family)];
  }
  // By persisted name (catalog_schema.h); nullptr for a name the table does not have.
  rocksdb::ColumnFamilyHandle* handle(std::string_view name) const;
  // Whether `name` is a family that an older catalog opened read-only may lack.
  static bool MayBeAbsent(std::string_view name);
  // The options SST files ingested into `family` are written with (server/sst_file.h).
  const rocksdb::Options& sst_options(Family family) const {
    return *options_[static_cast<size_t>(family)];
  }

  // RocksDB's last sequence number as this instance sees it: grows with every write.
  uint64_t sequence() const;
  // Zero unless opened with CatalogOptions::statistics.
  BlockCacheCounts block_cache_counts() const;
  // Writes memtables to SST files and syncs the write-ahead log. Nothing when read-only.
  absl::Status Flush();
  // Bytes the directory occupies on disk.
  absl::StatusOr<uint64_t> DiskBytes() const;

 private:
  CatalogStorage() = default;

  std::string dir_;
  bool read_only_ = false;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> opened_;  // owned: every handle RocksDB opened
  std::array<rocksdb::ColumnFamilyHandle*, kFamilyCount> handles_{};
  std::array<std::unique_ptr<rocksdb::Options>, kFamilyCount> options_;
};

// For the stores over a storage (TokenStore, NearDupStore): `writable`, or FAILED_PRECONDITION
// naming `store` when it is null, as for a store built on a const Catalog.
absl::StatusOr<CatalogStorage*> WritableStorage(CatalogStorage* writable, std::string_view store);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_STORAGE_H_
