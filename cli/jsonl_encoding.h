// `shardstream encode --jsonl`: every line of a JSON-lines file encoded, in a pipeline that
// overlaps reading, encoding and printing and holds a bounded number of bytes whatever the
// input's size. One reader thread decompresses and parses lines into batches of about
// kBatchBytes; `jobs` threads, each with its own Encoder kept warm for the whole file, encode a
// batch at a time into its printed form; the calling thread writes the batches in input order.
// At most 2 × jobs batches wait for an encoder and 2 × jobs encoded ones for their turn.
#ifndef SHARDSTREAM_CLI_JSONL_ENCODING_H_
#define SHARDSTREAM_CLI_JSONL_ENCODING_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/decimal_table.h"
#include "common/tokenizer.h"

namespace shardstream::cli {

struct JsonlEncodingOptions {
  std::string field = "text";  // JSON field holding the text
  EncodeMode mode = EncodeMode::kOrdinary;
  int jobs = 1;                              // encoding threads
  size_t max_line_bytes = size_t{64} << 20;  // longer lines print `null` (a warning)
};

struct JsonlEncodingSummary {
  uint64_t lines = 0;       // lines printed, `null` ones included
  uint64_t bad_lines = 0;   // too long, not JSON, or without a string `field`: `null`
  uint64_t text_bytes = 0;  // of the texts encoded
};

// Called for each bad line (1-based number, reason), from the reader thread.
using BadLineCallback = std::function<void(uint64_t line, const std::string& reason)>;

// A batch of texts is handed to an encoder once it holds this many bytes or kBatchLines lines.
inline constexpr size_t kBatchBytes = size_t{1} << 20;
inline constexpr size_t kBatchLines = 4096;

// Prints one JSON array of ids per line of `path` (plain, .gz or .zst) to `out`, `null` for a
// bad line, in input order. Errors: the file cannot be opened or read (a damaged file fails
// after the lines before the damage were printed), or writing `out` failed.
absl::StatusOr<JsonlEncodingSummary> EncodeJsonLines(const Tokenizer& tokenizer,
                                                     const std::string& path,
                                                     const JsonlEncodingOptions& options,
                                                     std::FILE* out,
                                                     const BadLineCallback& on_bad_line);

// Appends "[id,id,...]\n", the ids' digits from `decimal`.
void AppendIdsLine(const DecimalTable& decimal, const std::vector<TokenId>& ids, std::string* out);

}  // namespace shardstream::cli

#endif  // SHARDSTREAM_CLI_JSONL_ENCODING_H_
