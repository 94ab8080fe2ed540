// Protobuf's base-128 varints, for the framings the server writes and reads itself (the
// records of a document list, the fields spliced into a document record).
#ifndef SHARDSTREAM_SERVER_VARINT_H_
#define SHARDSTREAM_SERVER_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardstream {

inline void AppendVarint(uint64_t v, std::string* out) {
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out->append(bytes, n);
}

// Reads a varint at the front of `in` and removes it; false when `in` ends first or the varint
// is longer than 10 bytes.
inline bool TakeVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (size_t i = 0; i < in->size() && i < 10; ++i) {
    const auto byte = static_cast<uint8_t>((*in)[i]);
    *v |= uint64_t{byte & 0x7Fu} << (7 * i);
    if (byte < 0x80) {
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_VARINT_H_
