#include "server/token_store.h"

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
  std::string value;
  rocksdb::Status s =
      storage().db()->Get(rocksdb::ReadOptions(), storage().handle(Family::kTokenFiles),
                          schema::TokenFileKey(tokenizer, file_id), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("file ", file_id, " is not tokenized"));
  }
  RETURN_IF_ERROR(FromRocksDb(s, "read token_files"));
  v1::TokenizedFile f;
  if (!f.ParseFromString(value)) return absl::DataLossError("unreadable tokenized-file record");
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
  return entries_->Add(schema::TokensKey(tokenizer_, doc_id), packed);
}

absl::Status TokenFileWriter::Finish() { return entries_->Finish(); }

std::string IngestDir(const std::string& db) { return db + "/token-ingest"; }

std::unique_ptr<TokenFileWriter> TokenStore::NewFileWriter(const Hash128& tokenizer,
                                                           uint32_t file_id,
                                                           size_t spill_bytes) const {
  auto writer = std::unique_ptr<TokenFileWriter>(new TokenFileWriter());
  writer->tokenizer_ = tokenizer;
  writer->entries_ = std::make_unique<FileEntries>(
      absl::StrCat(IngestDir(catalog_->dir()), "/", tokenizer.ToHex().substr(0, 16), "-", file_id,
                   ".sst"),
      &storage().sst_options(Family::kTokens), storage().handle(Family::kTokens), spill_bytes);
  return writer;
}

absl::Status TokenStore::RemoveLeftoverSstFiles() {
  RETURN_IF_ERROR(WritableStorage(writable_, "token store").status());
  return RemoveSstDirectory(IngestDir(catalog_->dir()));
}

absl::Status TokenStore::CommitFile(const Hash128& tokenizer, const v1::TokenizedFile& file,
                                    TokenFileWriter& tokens, const v1::TokenizedFile* replaces) {
  ASSIGN_OR_RETURN(CatalogStorage * storage, WritableStorage(writable_, "token store"));
  rocksdb::WriteBatch batch;
  if (replaces != nullptr && replaces->num_docs() > 0) {
    RETURN_IF_ERROR(FromRocksDb(
        batch.DeleteRange(
            storage->handle(Family::kTokens),
            schema::TokensKey(tokenizer, replaces->first_doc_id()),
            schema::TokensKey(tokenizer, replaces->first_doc_id() + replaces->num_docs())),
        "stage"));
  }
  return tokens.entries_->Commit(storage->db(), &batch, storage->handle(Family::kTokenFiles),
                                 schema::TokenFileKey(tokenizer, file.file_id()),
                                 schema::SerializeRecord(file),
                                 absl::StrCat("commit tokens of file ", file.file_id()));
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
  RETURN_IF_ERROR(FromRocksDb(
      batch.DeleteRange(storage->handle(Family::kTokens),
                        schema::TokensKey(tokenizer, file.first_doc_id()),
                        schema::TokensKey(tokenizer, file.first_doc_id() + file.num_docs())),
      "stage"));
  RETURN_IF_ERROR(FromRocksDb(batch.Delete(storage->handle(Family::kTokenFiles),
                                           schema::TokenFileKey(tokenizer, file.file_id())),
                              "stage"));
  return FromRocksDb(storage->db()->Write(rocksdb::WriteOptions(), &batch),
                     absl::StrCat("drop tokens of file ", file.file_id()));
}

absl::Status TokenStore::ReadTokens(const Hash128& tokenizer, uint64_t doc_id,
                                    std::string* out) const {
  rocksdb::Status s = storage().db()->Get(rocksdb::ReadOptions(), storage().handle(Family::kTokens),
                                          schema::TokensKey(tokenizer, doc_id), out);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("document ", doc_id, " is not tokenized"));
  }
  return FromRocksDb(s, "read tokens");
}

}  // namespace shardstream
