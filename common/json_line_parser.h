// Parses one JSON-lines record into its text field and scalar metadata (simdjson DOM: the whole
// line is validated, including its UTF-8).
#ifndef SHARDSTREAM_COMMON_JSON_LINE_PARSER_H_
#define SHARDSTREAM_COMMON_JSON_LINE_PARSER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shardstream/v1/catalog.pb.h"

namespace shardstream {

struct ParsedLine {
  // Views into the parser's buffers: valid until the next Parse().
  std::string_view text;
  // Other fields in order: strings as they are, numbers/booleans/null as their JSON text, at
  // most kMaxMetadataValueBytes (cut at a UTF-8 character boundary). Arrays and objects skipped.
  std::vector<std::pair<std::string_view, std::string>> metadata;
};

struct LineError {
  v1::BadLineKind kind = v1::BAD_LINE_KIND_UNSPECIFIED;
  std::string message;
};

// Not thread-safe: one per thread. Reuses its buffers across lines.
class JsonLineParser {
 public:
  static constexpr size_t kMaxMetadataValueBytes = 1024;

  explicit JsonLineParser(std::string text_field);
  ~JsonLineParser();

  // True for a line that holds only JSON whitespace: such lines are skipped, not errors.
  static bool IsBlank(std::string_view line);

  // Parses `line`, which must be followed by at least 64 readable bytes (LineReader's padding).
  // Returns true and fills `out`, or returns false and fills `error`.
  bool Parse(std::string_view line, ParsedLine* out, LineError* error);

  const std::string& text_field() const { return text_field_; }
  // Gives back the buffers a long line grew (they stay as large as the longest line parsed).
  // Invalidates the views of the last ParsedLine.
  void ReleaseMemory();

 private:
  struct Impl;
  const std::string text_field_;
  std::unique_ptr<Impl> impl_;
};

// Cuts `value` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string_view TruncateUtf8(std::string_view value, size_t max_bytes);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_JSON_LINE_PARSER_H_
