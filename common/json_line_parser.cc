#include "common/json_line_parser.h"

#include <simdjson.h>

#include "absl/strings/str_cat.h"
#include "common/line_reader.h"

namespace shardstream {

static_assert(LineReader::kPaddingBytes >= simdjson::SIMDJSON_PADDING,
              "LineReader must pad lines enough for simdjson to parse them in place");

struct JsonLineParser::Impl {
  simdjson::dom::parser parser;
};

namespace {

// A \uD800-\uDFFF escape: JSON allows it syntactically, but alone it encodes no character, so
// the decoded text would not be UTF-8. simdjson rejects such strings with STRING_ERROR.
bool HasSurrogateEscape(std::string_view line) {
  for (size_t i = line.find("\\u"); i != std::string_view::npos; i = line.find("\\u", i + 2)) {
    if (i + 3 < line.size() && (line[i + 2] == 'd' || line[i + 2] == 'D')) {
      char c = line[i + 3];
      if ((c >= '8' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) return true;
    }
  }
  return false;
}

const char* TypeName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "a number";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

}  // namespace

std::string_view TruncateUtf8(std::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return value;
  size_t cut = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (cut > 0 && (static_cast<uint8_t>(value[cut]) & 0xC0) == 0x80) --cut;
  return value.substr(0, cut);
}

JsonLineParser::JsonLineParser(std::string text_field)
    : text_field_(std::move(text_field)), impl_(std::make_unique<Impl>()) {}

JsonLineParser::~JsonLineParser() = default;

void JsonLineParser::ReleaseMemory() { impl_ = std::make_unique<Impl>(); }

bool JsonLineParser::IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool JsonLineParser::Parse(std::string_view line, ParsedLine* out, LineError* error) {
  simdjson::dom::element root;
  simdjson::error_code code = impl_->parser.parse(line.data(), line.size(), false).get(root);
  if (code != simdjson::SUCCESS) {
    if (code == simdjson::UTF8_ERROR ||
        (code == simdjson::STRING_ERROR && HasSurrogateEscape(line))) {
      error->kind = v1::BAD_LINE_INVALID_UTF8;
    } else {
      error->kind = v1::BAD_LINE_INVALID_JSON;
    }
    error->message = simdjson::error_message(code);
    return false;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    error->kind = v1::BAD_LINE_INVALID_JSON;
    error->message = absl::StrCat("the line is ", TypeName(root.type()), ", not an object");
    return false;
  }
  out->metadata.clear();
  bool found = false;
  simdjson::dom::element text;
  for (simdjson::dom::key_value_pair field : object) {
    simdjson::dom::element_type type = field.value.type();
    if (field.key == text_field_) {
      found = true;
      text = field.value;  // a repeated key: the last one wins, as in Python's json module
      continue;
    }
    std::string value;
    if (type == simdjson::dom::element_type::STRING) {
      value = TruncateUtf8(field.value.get_string().value_unsafe(), kMaxMetadataValueBytes);
    } else if (type == simdjson::dom::element_type::ARRAY ||
               type == simdjson::dom::element_type::OBJECT) {
      continue;
    } else {
      value = simdjson::to_string(field.value);
    }
    out->metadata.emplace_back(field.key, std::move(value));
  }
  if (!found) {
    error->kind = v1::BAD_LINE_MISSING_FIELD;
    error->message = absl::StrCat("no field \"", text_field_, "\"");
    return false;
  }
  if (text.type() != simdjson::dom::element_type::STRING) {
    error->kind = v1::BAD_LINE_FIELD_NOT_STRING;
    error->message =
        absl::StrCat("field \"", text_field_, "\" is ", TypeName(text.type()), ", not a string");
    return false;
  }
  out->text = text.get_string().value_unsafe();
  return true;
}

}  // namespace shardstream
