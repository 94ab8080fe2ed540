#include "server/indexed_documents.h"

#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status ReadIndexedDocuments(const Catalog& catalog, const v1::FileRecord& file,
                                  CorpusFileReader& reader, const DocumentSelector& select,
                                  const DocumentSink& sink) {
  struct Wanted {
    uint64_t line;
    Hash128 hash;
    uint64_t id;
  };
  std::vector<Wanted> wanted;  // the selected documents, in line (= id) order
  RETURN_IF_ERROR(catalog.ForEachDocInRange(
      file.first_doc_id(), file.first_doc_id() + file.num_docs(),
      [&](uint64_t id, const v1::DocRecord& doc) {
        if (select(id, doc))
          wanted.push_back({doc.line(), Hash128{doc.hash_hi(), doc.hash_lo()}, id});
        return true;
      }));
  if (wanted.empty()) return absl::OkStatus();
  const std::string path = (std::filesystem::path(file.root()) / file.path()).string();
  size_t next = 0;
  bool stopped = false;
  std::string mismatch;
  auto on_document = [&](uint64_t line, const ParsedLine& doc) {
    if (next < wanted.size() && line < wanted[next].line) return true;  // not selected
    if (next >= wanted.size() || line != wanted[next].line ||
        HashBytes(doc.text) != wanted[next].hash) {
      mismatch = absl::StrCat("line ", line, " is not the indexed document");
      return false;
    }
    if (!sink(wanted[next++].id, doc.text)) {
      stopped = true;
      return false;
    }
    return next < wanted.size();  // past the last selected document: nothing more to read
  };
  const size_t max_line_bytes =
      file.max_line_bytes() == 0 ? kDefaultMaxLineBytes : file.max_line_bytes();
  ASSIGN_OR_RETURN(FileScanResult scan,
                   reader.Read(path, file.compression(), on_document, max_line_bytes));
  if (stopped) return absl::OkStatus();
  if (mismatch.empty() && next != wanted.size()) {
    mismatch = absl::StrCat(wanted.size() - next, " indexed documents are missing");
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
