// Splits a DecodedStream into lines without copying them, with padding after each line so that
// simdjson can parse it in place.
#ifndef SHARDSTREAM_COMMON_LINE_READER_H_
#define SHARDSTREAM_COMMON_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "common/decoded_stream.h"

namespace shardstream {

struct Line {
  // The line without its '\n' (a '\r' before it is kept: JSON treats it as whitespace). Valid
  // until the next call to Next(); at least LineReader::kPaddingBytes readable bytes follow it.
  std::string_view text;
  uint64_t number = 0;    // 1-based
  uint64_t end = 0;       // decoded offset just past the line (and its '\n')
  bool too_long = false;  // longer than max_line_bytes: `text` is empty, the line was skipped
};

// Not thread-safe. Memory: a buffer of about max(1 MiB, longest line) bytes, and never more
// than max_line_bytes + 2 MiB.
class LineReader {
 public:
  static constexpr size_t kPaddingBytes = 64;  // >= simdjson::SIMDJSON_PADDING

  // `stream` is borrowed and must outlive the reader.
  LineReader(DecodedStream* stream, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next complete line. A last line without '\n' counts when the stream ends cleanly; when
  // the stream fails, the unterminated tail is dropped (see dropped_tail_bytes()). Returns false
  // at the end; status() then says whether the stream ended cleanly.
  bool Next(Line* line);

  // OK at a clean end, otherwise the stream's error (DATA_LOSS for damaged files).
  const absl::Status& status() const { return status_; }
  // Decoded bytes consumed so far.
  uint64_t decoded_bytes() const { return decoded_bytes_; }
  // Bytes of an unterminated last line dropped because the stream failed.
  uint64_t dropped_tail_bytes() const { return dropped_tail_bytes_; }

 private:
  // Reads more decoded bytes after end_, growing or compacting the buffer. Returns false at the
  // end of the stream or on error (status_ set).
  bool Fill();
  void Reserve(size_t min_free);

  DecodedStream* const stream_;
  const size_t max_line_bytes_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;  // usable bytes, padding excluded
  size_t begin_ = 0;     // start of unconsumed data
  size_t scan_ = 0;      // bytes in [begin_, scan_) hold no '\n'
  size_t end_ = 0;       // end of valid data
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t decoded_bytes_ = 0;
  uint64_t dropped_tail_bytes_ = 0;
  absl::Status status_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_LINE_READER_H_
