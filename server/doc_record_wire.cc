#include "server/doc_record_wire.h"

#include <bit>
#include <cstring>

#include "absl/status/status.h"
#include "server/varint.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {
namespace {

using v1::DocRecord;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

uint64_t LoadLittleEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));  // the wire's fixed64 is little-endian, as x86 and ARM are
  return v;
}

absl::Status Malformed() {
  return absl::DataLossError("a read document record does not parse as one without links");
}

}  // namespace

absl::StatusOr<ReadDocRecord> ScanReadDocRecord(std::string_view bytes) {
  static_assert(std::endian::native == std::endian::little);
  ReadDocRecord read;
  read.links_at = bytes.size();
  for (std::string_view rest = bytes; !rest.empty();) {
    const size_t field_at = bytes.size() - rest.size();
    uint64_t tag;
    if (!TakeVarint(&rest, &tag)) return Malformed();
    const uint64_t field = tag >> 3;
    if (field == 0) return Malformed();
    if (field == DocRecord::kFileIdFieldNumber || field == DocRecord::kDuplicateOfFieldNumber) {
      return Malformed();
    }
    if (field > DocRecord::kDuplicateOfFieldNumber) {
      if (read.links_at == bytes.size()) read.links_at = field_at;
    } else if (read.links_at != bytes.size()) {
      return Malformed();  // not in number order: the links would go in the wrong place
    }
    uint64_t length;
    switch (static_cast<uint32_t>(tag & 7)) {
      case kVarint:
        if (!TakeVarint(&rest, &length)) return Malformed();
        break;
      case kFixed64:
        if (rest.size() < 8) return Malformed();
        if (field == DocRecord::kHashHiFieldNumber) read.hash.hi = LoadLittleEndian64(rest.data());
        if (field == DocRecord::kHashLoFieldNumber) read.hash.lo = LoadLittleEndian64(rest.data());
        rest.remove_prefix(8);
        break;
      case kLengthDelimited:
        if (!TakeVarint(&rest, &length) || rest.size() < length) return Malformed();
        rest.remove_prefix(length);
        break;
      case kFixed32:
        if (rest.size() < 4) return Malformed();
        rest.remove_prefix(4);
        break;
      default:
        return Malformed();
    }
  }
  return read;
}

void AppendLinkedDocRecord(std::string_view bytes, const ReadDocRecord& read, uint32_t file_id,
                           std::optional<uint64_t> duplicate_of, std::string* out) {
  if (file_id != 0) {  // proto3: a zero is not written
    AppendVarint(DocRecord::kFileIdFieldNumber << 3 | kVarint, out);
    AppendVarint(file_id, out);
  }
  out->append(bytes.substr(0, read.links_at));
  if (duplicate_of.has_value()) {  // explicit presence: written even when zero
    AppendVarint(DocRecord::kDuplicateOfFieldNumber << 3 | kVarint, out);
    AppendVarint(*duplicate_of, out);
  }
  out->append(bytes.substr(read.links_at));
}

}  // namespace shardstream
