// Reading back the documents the catalog indexed from one corpus file: the one way the jobs
// that work on indexed text (tokenize, train-tokenizer) get it, so all of them check it.
#ifndef SHARDSTREAM_SERVER_INDEXED_DOCUMENTS_H_
#define SHARDSTREAM_SERVER_INDEXED_DOCUMENTS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/corpus_file_reader.h"
#include "server/catalog.h"

namespace shardstream {

// Which documents to read: called for each of the file's documents, in id order.
using DocumentSelector = std::function<bool(uint64_t doc_id, const v1::DocRecord& doc)>;
// Receives each selected document's text in id order; returning false stops reading (and the
// call returns OK without the end-of-file checks).
using DocumentSink = std::function<bool(uint64_t doc_id, std::string_view text)>;

// Reads `file` once, sequentially, and hands the selected documents to `sink`, each checked
// against its catalog record (line number and XXH3-128 of the text); at the end the file's
// checksum must equal the one indexed. FAILED_PRECONDITION ("run `shardstream index`") when the
// file changed since it was indexed; the reader's errors for unreadable files. Thread-safe as
// long as each thread passes its own `reader`.
absl::Status ReadIndexedDocuments(const Catalog& catalog, const v1::FileRecord& file,
                                  CorpusFileReader& reader, const DocumentSelector& select,
                                  const DocumentSink& sink);

// The texts of a few documents (reports, examples): each of their files read once, up to its
// last wanted document, with the same checks. Documents of files that cannot be read (or
// changed) are left out of the result, with one message per such file in `errors`.
absl::StatusOr<std::map<uint64_t, std::string>> ReadDocumentTexts(
    const Catalog& catalog, const std::vector<uint64_t>& doc_ids, std::vector<std::string>* errors);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_INDEXED_DOCUMENTS_H_
