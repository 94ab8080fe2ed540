#include "server/doc_record_wire.h"

#include <bit>
#include <cstring>

#include "absl/status/status.h"
#include "shardstream/v1/catalog.pb.h"

namespace shardstream {
namespace {

using v1::DocRecord;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void AppendVarint(uint64_t v, std::string* out) {
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out->append(bytes, n);
}

// Reads a varint at `*at`; false when `bytes` ends first or it is longer than 10 bytes.
bool ReadVarint(std::string_view bytes, size_t* at, uint64_t* v) {
  *v = 0;
  for (size_t i = 0; i < 10 && *at < bytes.size(); ++i) {
    const auto byte = static_cast<uint8_t>(bytes[(*at)++]);
    *v |= uint64_t{byte & 0x7Fu} << (7 * i);
    if (byte < 0x80) return true;
  }
  return false;
}

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
  for (size_t at = 0; at < bytes.size();) {
    const size_t field_at = at;
    uint64_t tag;
    if (!ReadVarint(bytes, &at, &tag)) return Malformed();
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
        if (!ReadVarint(bytes, &at, &length)) return Malformed();
        break;
      case kFixed64:
        if (bytes.size() - at < 8) return Malformed();
        if (field == DocRecord::kHashHiFieldNumber) read.hash.hi = LoadLittleEndian64(&bytes[at]);
        if (field == DocRecord::kHashLoFieldNumber) read.hash.lo = LoadLittleEndian64(&bytes[at]);
        at += 8;
        break;
      case kLengthDelimited:
        if (!ReadVarint(bytes, &at, &length) || bytes.size() - at < length) return Malformed();
        at += length;
        break;
      case kFixed32:
        if (bytes.size() - at < 4) return Malformed();
        at += 4;
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
