// JsonLineParser on any bytes (one line, padded as LineReader pads it): no crash, and a parsed
// document's text is valid UTF-8 (what the encoder and the catalog rely on).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/json_line_parser.h"
#include "common/line_reader.h"
#include "common/unicode_classes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static shardstream::JsonLineParser* parser = new shardstream::JsonLineParser("content");
  std::string buffer(reinterpret_cast<const char*>(data), size);
  const size_t line_size = buffer.size();
  buffer.append(shardstream::LineReader::kPaddingBytes, '\0');
  const std::string_view line(buffer.data(), line_size);
  if (shardstream::JsonLineParser::IsBlank(line)) return 0;
  shardstream::ParsedLine doc;
  shardstream::LineError error;
  if (parser->Parse(line, &doc, &error)) {
    if (shardstream::FindInvalidUtf8(doc.text) != std::string_view::npos) std::abort();
  } else if (error.kind == shardstream::v1::BAD_LINE_KIND_UNSPECIFIED) {
    std::abort();  // a refused line always says why
  }
  return 0;
}
