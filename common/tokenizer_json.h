// Reading tokenizer.json components: the small helpers the normalizer, pre-tokenizer, model and
// decoder parsers share, and the one error they all give for what is not implemented.
#ifndef SHARDSTREAM_COMMON_TOKENIZER_JSON_H_
#define SHARDSTREAM_COMMON_TOKENIZER_JSON_H_

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unicode_regex.h"

namespace shardstream::tokenizer_json {

// INVALID_ARGUMENT "unsupported tokenizer: <what> (see docs/tokenizer.md)".
absl::Status Unsupported(std::string_view what);

// The "type" of a component object; "" for null, "?" when it has none.
std::string TypeOf(simdjson::dom::element e);

// An optional field: `fallback` when absent or null; INVALID_ARGUMENT when of another type.
absl::StatusOr<bool> Bool(simdjson::dom::element obj, std::string_view key, bool fallback);
absl::StatusOr<std::string> String(simdjson::dom::element obj, std::string_view key,
                                   std::string_view fallback);
// A string field that must be one character (Metaspace's replacement, a delimiter, ...).
absl::StatusOr<std::string> Character(simdjson::dom::element obj, std::string_view key,
                                      std::string_view fallback);
// A string field that may be absent or null (nullopt then).
absl::StatusOr<std::optional<std::string>> OptionalString(simdjson::dom::element obj,
                                                          std::string_view key);
absl::StatusOr<uint64_t> Uint(simdjson::dom::element obj, std::string_view key, uint64_t fallback);

// A pattern object {"String": "..."} or {"Regex": "..."} as a regex.
absl::StatusOr<UnicodeRegex> Pattern(simdjson::dom::element obj, std::string_view key);

// The list under `key` of a Sequence component (normalizers, pretokenizers, decoders).
absl::StatusOr<simdjson::dom::array> List(simdjson::dom::element obj, std::string_view key);

}  // namespace shardstream::tokenizer_json

#endif  // SHARDSTREAM_COMMON_TOKENIZER_JSON_H_
