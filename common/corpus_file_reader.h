// Reads the documents of one corpus file: decompression, line splitting, JSON parsing and the
// accounting of everything that is not a good document. The index job and the tokenize job both
// read corpus files through this class, so they agree on which line is which document.
#ifndef SHARDSTREAM_COMMON_CORPUS_FILE_READER_H_
#define SHARDSTREAM_COMMON_CORPUS_FILE_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/json_line_parser.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

// The line limit when none is given (`index --max-line-mib`). The index records the limit each
// file was read with (FileRecord.max_line_bytes), and every later reader of the file uses that.
inline constexpr size_t kDefaultMaxLineBytes = size_t{64} << 20;

struct CorpusFileReaderOptions {
  std::string text_field = "content";  // JSON field holding the document text
  // Lines longer than this are skipped as BAD_LINE_TOO_LONG; bounds the reader's memory.
  size_t max_line_bytes = kDefaultMaxLineBytes;
};

// What reading one file found besides its documents.
struct FileScanResult {
  uint64_t lines = 0;                       // complete lines, blank ones included
  uint64_t blank_lines = 0;                 // whitespace-only lines (skipped, not errors)
  uint64_t decoded_bytes = 0;               // decompressed bytes read
  uint64_t longest_line_bytes = 0;          // the longest line read (within the line limit)
  uint64_t raw_bytes = 0;                   // on-disk bytes (the whole file, also when damaged)
  Hash128 checksum;                         // XXH3-128 of the on-disk bytes
  std::vector<v1::BadLineCount> bad_lines;  // by kind, ascending; empty when all lines were good
  bool damaged = false;  // the decoder failed; documents before the damage were delivered
  std::string error;     // the decoder's message when damaged
  // Documents on this line and after were delivered from unverified data (0: none); they are
  // counted as BAD_LINE_UNVERIFIED in bad_lines.
  uint64_t unverified_from_line = 0;
};

// Called for each good document in file order; `line` is its 1-based line number. Returning
// false stops the scan early (the result then describes the part read). A document delivered
// from data that later fails its integrity check is counted in the result as a bad line of kind
// BAD_LINE_UNVERIFIED (FileScanResult::unverified_from_line): callers that keep documents drop
// those.
using DocumentCallback = std::function<bool(uint64_t line, const ParsedLine& doc)>;

// Not thread-safe; one per thread (it keeps parser buffers between files, as large as the
// longest line up to kKeptLineBytes: a file of longer lines leaves nothing behind).
class CorpusFileReader {
 public:
  static constexpr size_t kKeptLineBytes = size_t{4} << 20;

  explicit CorpusFileReader(CorpusFileReaderOptions options);

  // Reads `path`. A damaged file is not an error (see FileScanResult::damaged); errors are for
  // files that cannot be read at all: NOT_FOUND, PERMISSION_DENIED, INTERNAL (I/O error).
  absl::StatusOr<FileScanResult> Read(const std::string& path, v1::Compression compression,
                                      const DocumentCallback& on_document);
  // The same with another line limit than the options'.
  absl::StatusOr<FileScanResult> Read(const std::string& path, v1::Compression compression,
                                      const DocumentCallback& on_document, size_t max_line_bytes);

 private:
  const CorpusFileReaderOptions options_;
  JsonLineParser parser_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_CORPUS_FILE_READER_H_
