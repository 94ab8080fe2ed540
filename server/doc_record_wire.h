// A document record on its way from an index reader to the catalog, kept in its serialized
// form: the reader serializes it without the two fields only the catalog knows (file_id and
// duplicate_of), and the catalog splices them in, byte for byte what SerializeToString of the
// whole record gives (fields in number order, proto3 zeros omitted). Parsing each record
// (strings of its metadata allocated) and serializing it again cost ~7% of indexing tiny
// documents.
#ifndef SHARDSTREAM_SERVER_DOC_RECORD_WIRE_H_
#define SHARDSTREAM_SERVER_DOC_RECORD_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/hash128.h"

namespace shardstream {

// What the catalog needs of a read record without parsing it.
struct ReadDocRecord {
  Hash128 hash;         // hash_hi, hash_lo
  size_t links_at = 0;  // where duplicate_of goes: the first field numbered above it, or the end
};

// DATA_LOSS when `bytes` is not a serialized DocRecord (its fields are checked for framing,
// not parsed), holds file_id or duplicate_of, or has its fields out of number order.
absl::StatusOr<ReadDocRecord> ScanReadDocRecord(std::string_view bytes);

// Appends the record `bytes` (scanned as `read`) with file_id and duplicate_of set.
void AppendLinkedDocRecord(std::string_view bytes, const ReadDocRecord& read, uint32_t file_id,
                           std::optional<uint64_t> duplicate_of, std::string* out);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_DOC_RECORD_WIRE_H_
