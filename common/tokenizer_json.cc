#include "common/tokenizer_json.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/unicode_classes.h"

namespace shardstream::tokenizer_json {
namespace {

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status WrongType(std::string_view key, std::string_view type) {
  return absl::InvalidArgumentError(
      absl::StrCat("tokenizer.json: \"", AsAbsl(key), "\" is not ", AsAbsl(type)));
}

// The field, or nullopt when absent or null.
std::optional<simdjson::dom::element> Field(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element e;
  if (!obj.is_object() || obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) {
    return std::nullopt;
  }
  return e;
}

}  // namespace

absl::Status Unsupported(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported tokenizer: ", AsAbsl(what), " (see docs/tokenizer.md)"));
}

std::string TypeOf(simdjson::dom::element e) {
  if (e.is_null()) return "";
  std::string_view type;
  if (e["type"].get_string().get(type) != simdjson::SUCCESS) return "?";
  return std::string(type);
}

absl::StatusOr<bool> Bool(simdjson::dom::element obj, std::string_view key, bool fallback) {
  std::optional<simdjson::dom::element> e = Field(obj, key);
  if (!e.has_value()) return fallback;
  bool value;
  if (e->get_bool().get(value) != simdjson::SUCCESS) return WrongType(key, "a boolean");
  return value;
}

absl::StatusOr<std::optional<std::string>> OptionalString(simdjson::dom::element obj,
                                                          std::string_view key) {
  std::optional<simdjson::dom::element> e = Field(obj, key);
  if (!e.has_value()) return std::nullopt;
  std::string_view value;
  if (e->get_string().get(value) != simdjson::SUCCESS) return WrongType(key, "a string");
  return std::string(value);
}

absl::StatusOr<std::string> String(simdjson::dom::element obj, std::string_view key,
                                   std::string_view fallback) {
  ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(obj, key));
  return value.has_value() ? *std::move(value) : std::string(fallback);
}

absl::StatusOr<std::string> Character(simdjson::dom::element obj, std::string_view key,
                                      std::string_view fallback) {
  ASSIGN_OR_RETURN(std::string value, String(obj, key, fallback));
  char32_t cp;
  if (value.empty() || DecodeUtf8(value, &cp) != value.size()) {
    return WrongType(key, "one character");
  }
  return value;
}

absl::StatusOr<uint64_t> Uint(simdjson::dom::element obj, std::string_view key, uint64_t fallback) {
  std::optional<simdjson::dom::element> e = Field(obj, key);
  if (!e.has_value()) return fallback;
  uint64_t value;
  if (e->get_uint64().get(value) != simdjson::SUCCESS) return WrongType(key, "an integer");
  return value;
}

absl::StatusOr<UnicodeRegex> Pattern(simdjson::dom::element obj, std::string_view key) {
  std::optional<simdjson::dom::element> e = Field(obj, key);
  std::string_view text;
  if (e.has_value() && (*e)["String"].get_string().get(text) == simdjson::SUCCESS) {
    return UnicodeRegex::Literal(text);
  }
  if (e.has_value() && (*e)["Regex"].get_string().get(text) == simdjson::SUCCESS) {
    return UnicodeRegex::Compile(text);
  }
  return WrongType(key, "a {\"String\"} or {\"Regex\"} pattern");
}

absl::StatusOr<simdjson::dom::array> List(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::array list;
  if (obj[key].get_array().get(list) != simdjson::SUCCESS) return WrongType(key, "an array");
  return list;
}

}  // namespace shardstream::tokenizer_json
