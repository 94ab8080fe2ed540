#include "server/token_store.h"

#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "server/catalog_schema.h"
#include "server/plan_column.h"
#include "server/rocksdb_status.h"
#include "server/sst_file.h"
#include "server/usable_memory.h"

namespace shardstream {
namespace {

namespace schema = catalog_schema;

}  // namespace

absl::StatusOr<std::vector<v1::TokenizerRecord>> TokenStore::ListTokenizers() const {
  std::vector<v1::TokenizerRecord> out;
  absl::Status parse_error;
  RETURN_IF_ERROR(catalog_->ForEachEntry(
      schema::kTokenizersFamily, [&](std::string_view, std::string_view value) {
        v1::TokenizerRecord r;
        if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          parse_error = absl::DataLossError("unreadable tokenizer record");
        }
        out.push_back(std::move(r));
      }));
  RETURN_IF_ERROR(parse_error);
  return out;
}

absl::StatusOr<v1::TokenizerRecord> TokenStore::FindTokenizer(
    std::string_view name_or_fingerprint) const {
  ASSIGN_OR_RETURN(std::vector<v1::TokenizerRecord> all, ListTokenizers());
  const std::string wanted = absl::AsciiStrToLower(std::string(name_or_fingerprint));
  std::vector<std::string> names;
  for (const v1::TokenizerRecord& r : all) {
    if (r.name() == name_or_fingerprint) return r;
    if (wanted.size() >= 8 && FingerprintOf(r).ToHex().rfind(wanted, 0) == 0) return r;
    names.push_back(absl::StrCat(r.name(), " (", FingerprintOf(r).ToHex().substr(0, 8), ")"));
  }
  // The name is the caller's input: cut it, so a pasted blob cannot overflow a gRPC error's
  // metadata; and no server path in the message, which may reach a remote client.
  const std::string shown = name_or_fingerprint.size() > 64
                                ? std::string(name_or_fingerprint.substr(0, 64)) + "..."
                                : std::string(name_or_fingerprint);
  return absl::NotFoundError(absl::StrCat(
      "no tokenizer \"", shown, "\" in this catalog; ",
      names.empty() ? std::string("none was tokenized yet: run `shardstream tokenize`")
                    : absl::StrCat("available: ", absl::StrJoin(names, ", "))));
}

absl::Status TokenStore::PutTokenizer(const v1::TokenizerRecord& record) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "token store"));
  return FromRocksDb(
      storage->db()->Put(rocksdb::WriteOptions(), storage->handle(Family::kTokenizers),
                         FingerprintOf(record).ToBytes(), schema::SerializeRecord(record)),
      "write tokenizer record");
}

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenStore::LoadTokenizer(const v1::TokenizerRecord& r) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t =
      r.merges_txt().empty() ? Tokenizer::FromJson(r.definition())
                             : Tokenizer::FromVocabAndMergesText(r.definition(), r.merges_txt());
  if (t.ok() && (*t)->fingerprint() != FingerprintOf(r)) {
    return absl::DataLossError(absl::StrCat("tokenizer \"", r.name(),
                                            "\": its stored definition no longer has its "
                                            "fingerprint (a different shardstream version?)"));
  }
  return t;
}

absl::StatusOr<std::map<uint32_t, v1::TokenizedFile>> TokenStore::TokenizedFiles(
    const Hash128& tokenizer, bool heads_only, std::vector<uint32_t>* without_plan_column) const {
  std::map<uint32_t, v1::TokenizedFile> out;
  const std::string prefix = tokenizer.ToBytes();
  std::unique_ptr<rocksdb::Iterator> it(
      storage().db()->NewIterator(rocksdb::ReadOptions(), storage().handle(Family::kTokenFiles)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::TokenizedFile f;
    if (!f.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("unreadable tokenized-file record");
    }
    if (without_plan_column != nullptr && !HasPlanColumn(f)) {
      without_plan_column->push_back(f.file_id());
    }
    if (heads_only) {
      f.clear_token_counts();
      f.clear_doc_hashes();
      f.clear_doc_flags();
    }
    out.emplace(f.file_id(), std::move(f));
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "read token_files"));
  return out;
}

absl::StatusOr<v1::TokenizedFile> TokenStore::GetTokenizedFile(const Hash128& tokenizer,
                                                               uint32_t file_id) const {
  // A record is read once per plan build (its per-document fields are large): parsed from the
  // block it is read into, and not left in the block cache, where it would evict the catalog.
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = storage().db()->Get(options, storage().handle(Family::kTokenFiles),
                                          schema::TokenFileKey(tokenizer, file_id), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("file ", file_id, " is not tokenized"));
  }
  RETURN_IF_ERROR(FromRocksDb(s, "read token_files"));
  v1::TokenizedFile f;
  if (!f.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("unreadable tokenized-file record");
  }
  return f;
}

absl::StatusOr<TokenStoreStatus> TokenStore::Status(const v1::TokenizerRecord& tokenizer) const {
  ASSIGN_OR_RETURN(auto done, TokenizedFiles(FingerprintOf(tokenizer), /*heads_only=*/true));
  return Status(tokenizer, done);
}

TokenStoreStatus TokenStore::Status(const v1::TokenizerRecord& tokenizer,
                                    const std::map<uint32_t, v1::TokenizedFile>& done) const {
  TokenStoreStatus s;
  s.tokenizer = tokenizer;
  for (const auto& [id, file] : catalog_->files()) {
    if (file.num_docs() == 0) continue;
    ++s.files;
    auto it = done.find(id);
    if (it == done.end() || !IsCurrent(it->second, file)) continue;
    ++s.files_done;
    s.docs += it->second.num_docs();
    s.tokens += it->second.tokens();
  }
  return s;
}

TokenFileWriter::~TokenFileWriter() = default;

absl::Status TokenFileWriter::Add(uint64_t doc_id, std::string_view packed) {
  return pack_->Add(doc_id, packed);
}

absl::Status TokenFileWriter::Finish() { return pack_->Finish(); }

namespace {

// The SST files of the layout before packs (tokens ingested into the tokens family).
std::string IngestDir(const std::string& db) { return db + "/token-ingest"; }

// A pack's name: a function of the record's content, so reruns and --jobs write the same.
std::string PackName(const v1::FileRecord& file) {
  return absl::StrCat(file.file_id(), "-", file.first_doc_id(), "-",
                      Hash128{file.digest_hi(), file.digest_lo()}.ToHex().substr(0, 16), ".tokens");
}

// Stages deleting the ids a record of the layout before packs kept in the tokens family.
absl::Status StageOldTokensDelete(const CatalogStorage& storage, const Hash128& tokenizer,
                                  const v1::TokenizedFile& file, rocksdb::WriteBatch* batch) {
  if (!file.token_pack().empty() || file.num_docs() == 0) return absl::OkStatus();
  return FromRocksDb(
      batch->DeleteRange(storage.handle(Family::kTokens),
                         schema::TokensKey(tokenizer, file.first_doc_id()),
                         schema::TokensKey(tokenizer, file.first_doc_id() + file.num_docs())),
      "stage");
}

}  // namespace

std::string TokenStore::PackFolder(const Hash128& tokenizer) const {
  return absl::StrCat(catalog_->dir(), "/token-packs/", tokenizer.ToHex());
}

void TokenStore::RemovePack(const Hash128& tokenizer, const std::string& name) const {
  std::error_code ec;
  std::filesystem::remove(PackPath(tokenizer, name), ec);
}

absl::StatusOr<std::unique_ptr<TokenFileWriter>> TokenStore::NewFileWriter(
    const v1::TokenizerRecord& tokenizer, const v1::FileRecord& file) const {
  auto writer = std::unique_ptr<TokenFileWriter>(new TokenFileWriter());
  writer->name_ = PackName(file);
  TokenPackShape shape;
  shape.first_doc_id = file.first_doc_id();
  shape.num_docs = file.num_docs();
  shape.token_bytes = tokenizer.token_bytes();
  ASSIGN_OR_RETURN(
      writer->pack_,
      TokenPackWriter::Create(PackPath(FingerprintOf(tokenizer), writer->name_), shape));
  return writer;
}

absl::Status TokenStore::RemoveLeftovers(const Hash128& tokenizer,
                                         const std::map<uint32_t, v1::TokenizedFile>& records) {
  RETURN_IF_ERROR(WritableStorage(writable_, "token store").status());
  RETURN_IF_ERROR(RemoveSstDirectory(IngestDir(catalog_->dir())));
  absl::flat_hash_set<std::string> named;
  for (const auto& [id, record] : records) named.insert(record.token_pack());
  std::error_code ec;
  std::vector<std::filesystem::path> unnamed;
  for (const auto& entry : std::filesystem::directory_iterator(PackFolder(tokenizer), ec)) {
    if (!named.contains(entry.path().filename().string())) unnamed.push_back(entry.path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::InternalError(absl::StrCat("list ", PackFolder(tokenizer), ": ", ec.message()));
  }
  for (const std::filesystem::path& path : unnamed) {
    if (!std::filesystem::remove(path, ec) && ec) {
      return absl::InternalError(absl::StrCat("remove ", path.string(), ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status TokenStore::CommitFile(const Hash128& tokenizer, const v1::TokenizedFile& file,
                                    TokenFileWriter& tokens, const v1::TokenizedFile* replaces) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "token store"));
  v1::TokenizedFile record = file;
  record.set_token_pack(tokens.name_);
  rocksdb::WriteBatch batch;
  if (replaces != nullptr) {
    RETURN_IF_ERROR(StageOldTokensDelete(*storage, tokenizer, *replaces, &batch));
  }
  RETURN_IF_ERROR(FromRocksDb(
      batch.Put(storage->handle(Family::kTokenFiles),
                schema::TokenFileKey(tokenizer, file.file_id()), schema::SerializeRecord(record)),
      "stage"));
  RETURN_IF_ERROR(FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                              absl::StrCat("commit tokens of file ", file.file_id())));
  if (replaces != nullptr && !replaces->token_pack().empty() &&
      replaces->token_pack() != record.token_pack()) {
    RemovePack(tokenizer, replaces->token_pack());
  }
  return absl::OkStatus();
}

absl::Status TokenStore::PutTokenizedFile(const Hash128& tokenizer, const v1::TokenizedFile& file) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "token store"));
  return FromRocksDb(
      storage->db()->Put(rocksdb::WriteOptions(), storage->handle(Family::kTokenFiles),
                         schema::TokenFileKey(tokenizer, file.file_id()),
                         schema::SerializeRecord(file)),
      absl::StrCat("write the token record of file ", file.file_id()));
}

absl::Status TokenStore::DropFile(const Hash128& tokenizer, const v1::TokenizedFile& file) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "token store"));
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(StageOldTokensDelete(*storage, tokenizer, file, &batch));
  RETURN_IF_ERROR(FromRocksDb(batch.Delete(storage->handle(Family::kTokenFiles),
                                           schema::TokenFileKey(tokenizer, file.file_id())),
                              "stage"));
  RETURN_IF_ERROR(FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                              absl::StrCat("drop tokens of file ", file.file_id())));
  if (!file.token_pack().empty()) RemovePack(tokenizer, file.token_pack());
  return absl::OkStatus();
}

PackPages TokenStore::PackPagesFor(const Hash128& tokenizer) const {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(PackFolder(tokenizer), ec)) {
    std::error_code size_error;
    const uint64_t size = entry.file_size(size_error);
    if (!size_error) bytes += size;
  }
  return PackPagesOf(bytes, UsableMemoryBytes());
}

absl::StatusOr<std::shared_ptr<const TokenPack>> TokenStore::OpenPack(
    const v1::TokenizerRecord& tokenizer, const v1::TokenizedFile& file, PackPages pages) const {
  if (file.token_pack().empty()) {
    return absl::NotFoundError(absl::StrCat("file ", file.file_id(),
                                            " was tokenized before token packs; run "
                                            "`shardstream tokenize`"));
  }
  TokenPackShape shape;
  shape.first_doc_id = file.first_doc_id();
  shape.num_docs = file.num_docs();
  shape.token_bytes = tokenizer.token_bytes();
  return TokenPack::Open(PackPath(FingerprintOf(tokenizer), file.token_pack()), shape, pages);
}

}  // namespace shardstream
