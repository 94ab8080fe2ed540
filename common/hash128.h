// 128-bit content hashes (XXH3-128): document identity for exact deduplication, file checksums
// and fingerprints. Not cryptographic: collisions are negligible for non-adversarial corpora
// (2^-64 birthday bound at ~10^9 documents) but an attacker could forge one.
#ifndef SHARDSTREAM_COMMON_HASH128_H_
#define SHARDSTREAM_COMMON_HASH128_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace shardstream {

struct Hash128 {
  uint64_t hi = 0;
  uint64_t lo = 0;

  friend bool operator==(const Hash128&, const Hash128&) = default;
  friend auto operator<=>(const Hash128&, const Hash128&) = default;

  // 32 lowercase hex digits, high half first.
  std::string ToHex() const;
  // 16 bytes, big-endian (hi then lo): sorts like the numeric value; used in RocksDB keys.
  std::string ToBytes() const;
  void AppendBytes(std::string* out) const;
  static Hash128 FromBytes(std::string_view sixteen_bytes);
};

Hash128 HashBytes(std::string_view data);

// Streaming XXH3-128. Not thread-safe; movable.
class Hasher128 {
 public:
  Hasher128();
  ~Hasher128();
  Hasher128(Hasher128&&) noexcept;
  Hasher128& operator=(Hasher128&&) noexcept;

  void Update(std::string_view data);
  void UpdateU64(uint64_t value);  // little-endian, fixed width
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  void UpdateString(std::string_view data);
  void UpdateHash(const Hash128& h);
  Hash128 Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_HASH128_H_
