// The token store: for each tokenizer, every indexed document's token ids. Records are in the
// catalog's RocksDB (families tokenizers / token_files, catalog_schema.h); the ids are in one
// token pack per file (token_pack.h) in the catalog's token-packs/ folder, which a record
// names. Written by the tokenize job, read by plans and streams.
#ifndef SHARDSTREAM_SERVER_TOKEN_STORE_H_
#define SHARDSTREAM_SERVER_TOKEN_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/tokenizer.h"
#include "server/catalog.h"
#include "server/token_pack.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

inline Hash128 FingerprintOf(const v1::TokenizerRecord& r) {
  return Hash128{r.fingerprint_hi(), r.fingerprint_lo()};
}

// True when `tokenized` holds the tokens of `file` as the catalog has it now (same documents,
// same ids) in a token pack. The one test of "already tokenized" for the tokenize job, plans
// and status.
inline bool IsCurrent(const v1::TokenizedFile& tokenized, const v1::FileRecord& file) {
  return tokenized.digest_hi() == file.digest_hi() && tokenized.digest_lo() == file.digest_lo() &&
         tokenized.first_doc_id() == file.first_doc_id() &&
         tokenized.num_docs() == file.num_docs() && !tokenized.token_pack().empty();
}

// How complete a tokenizer's store is against the catalog.
struct TokenStoreStatus {
  v1::TokenizerRecord tokenizer;
  uint64_t files = 0;       // catalog files with documents
  uint64_t files_done = 0;  // of which tokenized with the current content
  uint64_t docs = 0;        // documents in those files
  uint64_t tokens = 0;      // tokens in those files (EOS excluded)
  bool complete() const { return files_done == files; }
};

// Writes one file's tokens into its token pack (token_pack.h) for TokenStore::CommitFile, so
// encoding threads also do the writing. Not thread-safe; one per file being tokenized.
class TokenFileWriter {
 public:
  ~TokenFileWriter();
  // Ids must ascend. `packed`: little-endian ids, TokenizerRecord.token_bytes each.
  absl::Status Add(uint64_t doc_id, std::string_view packed);
  // No more Add(): the pack is on disk under its name, not yet in any record.
  absl::Status Finish();

 private:
  friend class TokenStore;
  TokenFileWriter() = default;
  std::string name_;
  std::unique_ptr<TokenPackWriter> pack_;
};

// Thread-safety: reads may run concurrently with each other and with writes; writes (Put*,
// CommitFile, DropFile) from one thread at a time. Never touches the Catalog's mirrors, so it
// may be used while another thread reads the catalog.
class TokenStore {
 public:
  // `catalog` is borrowed and must outlive the store. On a const catalog the store only reads:
  // its writing methods return FAILED_PRECONDITION.
  explicit TokenStore(const Catalog* catalog) : catalog_(catalog), writable_(nullptr) {}
  explicit TokenStore(Catalog* catalog) : catalog_(catalog), writable_(&catalog->storage()) {}

  absl::StatusOr<std::vector<v1::TokenizerRecord>> ListTokenizers() const;
  // By name, or by a prefix (≥ 8 hex digits) of the fingerprint. NOT_FOUND lists what exists.
  absl::StatusOr<v1::TokenizerRecord> FindTokenizer(std::string_view name_or_fingerprint) const;
  absl::Status PutTokenizer(const v1::TokenizerRecord& record);
  // Loads the tokenizer a record describes.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const v1::TokenizerRecord& r);

  // The tokenized files of a tokenizer, by file id. `heads_only`: without their per-document
  // fields (token counts, plan column), for callers that need ids, digests and totals only;
  // `without_plan_column`, if given, receives the ids of those without a current plan column
  // (plan_column.h).
  absl::StatusOr<std::map<uint32_t, v1::TokenizedFile>> TokenizedFiles(
      const Hash128& tokenizer, bool heads_only = false,
      std::vector<uint32_t>* without_plan_column = nullptr) const;
  // One file's record; NOT_FOUND when the file is not tokenized.
  absl::StatusOr<v1::TokenizedFile> GetTokenizedFile(const Hash128& tokenizer,
                                                     uint32_t file_id) const;
  // Completeness against the catalog's current files.
  absl::StatusOr<TokenStoreStatus> Status(const v1::TokenizerRecord& tokenizer) const;
  // The same from the tokenizer's TokenizedFiles(), for callers that already loaded them.
  TokenStoreStatus Status(const v1::TokenizerRecord& tokenizer,
                          const std::map<uint32_t, v1::TokenizedFile>& tokenized) const;

  // A writer for the tokens of `file`; thread-safe.
  absl::StatusOr<std::unique_ptr<TokenFileWriter>> NewFileWriter(
      const v1::TokenizerRecord& tokenizer, const v1::FileRecord& file) const;
  // Writes the file record of `tokens` (finished), naming its pack, and drops what `replaces`
  // (a previous record of the file, if any) held. A crash before the record is written leaves
  // the old record (or none) and an unreferenced pack that RemoveLeftovers() deletes: the file
  // is simply tokenized again by the next run, with the same result.
  absl::Status CommitFile(const Hash128& tokenizer, const v1::TokenizedFile& file,
                          TokenFileWriter& tokens, const v1::TokenizedFile* replaces);
  // Removes what an interrupted run left: SST files of the layout before packs, and the packs
  // of `tokenizer` (and their temporary files) that no record of `records` names.
  absl::Status RemoveLeftovers(const Hash128& tokenizer,
                               const std::map<uint32_t, v1::TokenizedFile>& records);
  // Writes a file's record (its tokens unchanged).
  absl::Status PutTokenizedFile(const Hash128& tokenizer, const v1::TokenizedFile& file);
  // Drops a file's record and tokens.
  absl::Status DropFile(const Hash128& tokenizer, const v1::TokenizedFile& file);

  // The token pack a record names (shared with every other user of it in the process), mapped
  // as `pages` asks. NOT_FOUND when the record names none or its file is gone; DATA_LOSS when it
  // is damaged.
  absl::StatusOr<std::shared_ptr<const TokenPack>> OpenPack(
      const v1::TokenizerRecord& tokenizer, const v1::TokenizedFile& file,
      PackPages pages = PackPages::kSmall) const;
  // How readers map a tokenizer's packs: for huge pages when they all fit in half the memory
  // usable now (UsableMemoryBytes), where reading each 2 MiB around a miss reads nothing that
  // would not be read anyway; else small pages, so that a store larger than memory reads no
  // more than its documents' pages.
  PackPages PackPagesFor(const Hash128& tokenizer) const;
  // The pages for packs of `pack_bytes` in all with `usable_memory` bytes free.
  static PackPages PackPagesOf(uint64_t pack_bytes, uint64_t usable_memory) {
    return pack_bytes <= usable_memory / 2 ? PackPages::kHuge : PackPages::kSmall;
  }
  // Where the packs of a tokenizer are, and the path of the pack a record names.
  std::string PackFolder(const Hash128& tokenizer) const;
  std::string PackPath(const Hash128& tokenizer, const std::string& name) const {
    return PackFolder(tokenizer) + "/" + name;
  }

 private:
  const CatalogStorage& storage() const { return catalog_->storage(); }
  // After the record that named it is gone: a pack left behind (an error) is removed by the
  // next RemoveLeftovers.
  void RemovePack(const Hash128& tokenizer, const std::string& name) const;

  const Catalog* const catalog_;
  CatalogStorage* const writable_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_TOKEN_STORE_H_
