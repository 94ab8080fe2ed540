// Fixed-width big-endian integers: RocksDB keys sort bytewise, so numbers in keys are stored
// big-endian to sort numerically.
#ifndef SHARDSTREAM_COMMON_BIG_ENDIAN_H_
#define SHARDSTREAM_COMMON_BIG_ENDIAN_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace shardstream {

// One append of the whole number (a byte swap and a store), not a push_back per byte: keys
// are built once per document.
inline void AppendBigEndian64(std::string* out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(bytes, sizeof(bytes));
}

inline void AppendBigEndian32(std::string* out, uint32_t v) {
  char bytes[4];
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>(v >> (24 - 8 * i));
  out->append(bytes, sizeof(bytes));
}

// `bytes` must hold at least 8 (or 4) bytes.
inline uint64_t LoadBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

inline uint32_t LoadBigEndian32(std::string_view bytes) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_BIG_ENDIAN_H_
