// The catalog's RocksDB key schema. Version 1.
//
// One RocksDB database per catalog directory, with these column families:
//
//   meta   "dataset"                          -> v1::DatasetMeta
//   files  file id   (4 bytes, big-endian)    -> v1::FileRecord
//   docs   doc id    (8 bytes, big-endian)    -> v1::DocRecord
//   dedup  content hash (16 bytes, big-endian hi|lo) + doc id (8 bytes) -> "" (empty)
//   tokenizers   tokenizer fingerprint (16 bytes)                   -> v1::TokenizerRecord
//   token_files  tokenizer fingerprint (16) + file id (4)           -> v1::TokenizedFile
//   tokens       tokenizer fingerprint (16) + doc id (8)            -> the document's token ids,
//                little-endian, TokenizerRecord.token_bytes each (no EOS). Only records from
//                before token packs use it; tokenize deletes their ranges as it redoes them.
//                The ids of current records are in token packs (server/token_pack.h) in
//                <catalog>/token-packs/<fingerprint hex>/, one per file, named by its record.
//   minhash_files  file id (4)                                      -> v1::MinHashFile
//   minhash        doc id (8)                                       -> the document's MinHash
//                  signature: MinHashFile's permutations × uint16, little-endian
//   near_dups      doc id (8)                                       -> v1::NearDuplicate
//   meta "near_dedup"                                               -> v1::NearDedupRecord
//
// Big-endian numbers make keys sort numerically, so a file's documents are one contiguous key
// range of `docs` and the copies of one text are one contiguous, id-ordered range of `dedup`
// whose first entry is the original. Records are the protobuf messages of
// proto/shardstream/v1/catalog.proto.
//
// Invariants after every commit (each is one atomic WriteBatch):
//  * every document belongs to exactly one file: ids [first_doc_id, first_doc_id + num_docs);
//    file ids and first_doc_ids are both assigned in commit order, so files by id are files by
//    document id;
//  * `dedup` has exactly one entry per document;
//  * DocRecord.duplicate_of is set iff a smaller id has the same hash, and then names the
//    smallest such id;
//  * DatasetMeta.version_* is the fingerprint of the files present;
//  * FileRecord.partition = PartitionOfPath(path, DatasetMeta.partitions) (common/part_key.h),
//    and every file's partition is among DatasetMeta.owned_partitions (when that is set).
//  * `near_dups` and meta/near_dedup describe one clustering: a run deletes the record first
//    and writes it last (near_dup_store.h).
// Partitions and sources are record fields, not keys: catalogs written before them read as
// P = 1, source "default", with the same keys.
//
// The near-dedup families came after version 1 was first written: catalogs without them read as
// "dedup never ran" (Catalog::Open creates them when writing, skips them read-only).
//
// Column family names (the table of families and their options is in catalog_storage.cc) and
// kSchemaVersion are persisted: never rename or renumber. A change to
// the layout bumps kSchemaVersion; Catalog::Open refuses catalogs of another version.
#ifndef SHARDSTREAM_SERVER_CATALOG_SCHEMA_H_
#define SHARDSTREAM_SERVER_CATALOG_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/big_endian.h"
#include "common/hash128.h"
#include "google/protobuf/message_lite.h"

namespace shardstream::catalog_schema {

inline constexpr uint32_t kSchemaVersion = 1;

inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kFilesFamily[] = "files";
inline constexpr char kDocsFamily[] = "docs";
inline constexpr char kDedupFamily[] = "dedup";
inline constexpr char kTokenizersFamily[] = "tokenizers";
inline constexpr char kTokenFilesFamily[] = "token_files";
inline constexpr char kTokensFamily[] = "tokens";

inline constexpr char kMinHashFilesFamily[] = "minhash_files";
inline constexpr char kMinHashFamily[] = "minhash";
inline constexpr char kNearDupsFamily[] = "near_dups";

inline constexpr char kDatasetKey[] = "dataset";
inline constexpr char kNearDedupKey[] = "near_dedup";

// A record's value: its deterministic serialization (the messages have no maps).
inline std::string SerializeRecord(const google::protobuf::MessageLite& record) {
  std::string out;
  record.SerializeToString(&out);
  return out;
}

inline std::string FileKey(uint32_t file_id) {
  std::string key;
  AppendBigEndian32(&key, file_id);
  return key;
}

inline std::string DocKey(uint64_t doc_id) {
  std::string key;
  AppendBigEndian64(&key, doc_id);
  return key;
}

inline std::string DedupKey(const Hash128& hash, uint64_t doc_id) {
  std::string key = hash.ToBytes();
  AppendBigEndian64(&key, doc_id);
  return key;
}

inline std::string TokenFileKey(const Hash128& tokenizer, uint32_t file_id) {
  std::string key = tokenizer.ToBytes();
  AppendBigEndian32(&key, file_id);
  return key;
}

inline std::string TokensKey(const Hash128& tokenizer, uint64_t doc_id) {
  std::string key = tokenizer.ToBytes();
  AppendBigEndian64(&key, doc_id);
  return key;
}

inline uint32_t FileIdFromKey(std::string_view key) { return LoadBigEndian32(key); }
inline uint64_t DocIdFromKey(std::string_view key) { return LoadBigEndian64(key); }
inline uint64_t DocIdFromDedupKey(std::string_view key) { return LoadBigEndian64(key.substr(16)); }

}  // namespace shardstream::catalog_schema

#endif  // SHARDSTREAM_SERVER_CATALOG_SCHEMA_H_
