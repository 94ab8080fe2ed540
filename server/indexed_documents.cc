#include "server/indexed_documents.h"

#include <filesystem>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status ReadIndexedDocuments(const Catalog& catalog, const v1::FileRecord& file,
                                  CorpusFileReader& reader, const DocumentSelector& select,
                                  const DocumentSink& sink) {
  // The selected documents, pulled from the catalog in id (= line) order as the file is read:
  // nothing per document is held, whatever the file's size.
  struct Wanted {
    uint64_t line;
    Hash128 hash;
    uint64_t id;
  };
  std::unique_ptr<Catalog::DocCursor> docs =
      catalog.NewDocCursor(file.first_doc_id(), file.first_doc_id() + file.num_docs());
  std::optional<Wanted> next;
  uint64_t missing = 0;  // selected documents the file did not hold
  absl::Status cursor_status;
  auto advance = [&]() {
    next.reset();
    uint64_t id;
    v1::DocRecord doc;
    while (true) {
      absl::StatusOr<bool> more = docs->Next(&id, &doc);
      if (!more.ok()) cursor_status = more.status();
      if (!more.ok() || !*more) return;
      if (select(id, doc)) {
        next = Wanted{doc.line(), Hash128{doc.hash_hi(), doc.hash_lo()}, id};
        return;
      }
    }
  };
  advance();
  RETURN_IF_ERROR(cursor_status);
  if (!next.has_value()) return absl::OkStatus();
  const std::string path = (std::filesystem::path(file.root()) / file.path()).string();
  bool stopped = false;
  std::string mismatch;
  auto on_document = [&](uint64_t line, const ParsedLine& doc) {
    if (next.has_value() && line < next->line) return true;  // not selected
    if (!next.has_value() || line != next->line || HashBytes(doc.text) != next->hash) {
      mismatch = absl::StrCat("line ", line, " is not the indexed document");
      return false;
    }
    if (!sink(next->id, doc.text)) {
      stopped = true;
      return false;
    }
    advance();
    return next.has_value();  // past the last selected document: nothing more to read
  };
  const size_t max_line_bytes =
      file.max_line_bytes() == 0 ? kDefaultMaxLineBytes : file.max_line_bytes();
  ASSIGN_OR_RETURN(FileScanResult scan,
                   reader.Read(path, file.compression(), on_document, max_line_bytes));
  RETURN_IF_ERROR(cursor_status);
  if (stopped) return absl::OkStatus();
  if (mismatch.empty() && next.has_value()) {
    // The rest of the selection, counted for the message.
    while (next.has_value()) {
      ++missing;
      advance();
    }
    RETURN_IF_ERROR(cursor_status);
    mismatch = absl::StrCat(missing, " indexed documents are missing");
  }
  if (!mismatch.empty() || scan.checksum != Hash128{file.checksum_hi(), file.checksum_lo()}) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " changed since it was indexed",
        mismatch.empty() ? "" : absl::StrCat(" (", mismatch, ")"), "; run `shardstream index`"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<uint64_t, std::string>> ReadDocumentTexts(
    const Catalog& catalog, const std::vector<uint64_t>& doc_ids,
    std::vector<std::string>* errors) {
  std::map<uint32_t, std::set<uint64_t>> by_file;
  for (uint64_t id : doc_ids) {
    absl::StatusOr<v1::DocRecord> doc = catalog.GetDoc(id);
    if (absl::IsNotFound(doc.status())) continue;
    RETURN_IF_ERROR(doc.status());
    by_file[doc->file_id()].insert(id);
  }
  std::map<uint64_t, std::string> texts;
  CorpusFileReaderOptions options;
  options.text_field = catalog.meta().text_field();
  CorpusFileReader reader(options);
  for (const auto& entry : by_file) {
    const auto& ids = entry.second;  // (clang 14 cannot capture bindings)
    auto file = catalog.files().find(entry.first);
    if (file == catalog.files().end()) continue;
    absl::Status s = ReadIndexedDocuments(
        catalog, file->second, reader,
        [&](uint64_t id, const v1::DocRecord&) { return ids.count(id) > 0; },
        [&](uint64_t id, std::string_view text) {
          texts.emplace(id, std::string(text));
          return true;
        });
    if (!s.ok()) errors->push_back(std::string(s.message()));
  }
  return texts;
}

}  // namespace shardstream
