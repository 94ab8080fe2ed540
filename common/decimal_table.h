// The decimal text of every integer below a bound (token ids below a vocabulary's size), each
// followed by a comma, precomputed in 8 bytes per value: printing an id is one load and one
// 8-byte store instead of a division per digit (`encode --jsonl`: docs/tokenizer.md).
// An entry holds up to 7 characters (6 digits and the comma) and their count in its top byte.
#ifndef SHARDSTREAM_COMMON_DECIMAL_TABLE_H_
#define SHARDSTREAM_COMMON_DECIMAL_TABLE_H_

#include <charconv>
#include <cstdint>
#include <cstring>
#include <vector>

namespace shardstream {

class DecimalTable {
 public:
  // Values of at most 6 digits fit an entry; larger ones are formatted when written.
  static constexpr uint32_t kMaxSize = 1'000'000;
  // The most bytes WriteWithComma writes (10 digits and a comma).
  static constexpr size_t kMaxWrittenBytes = 11;

  // Entries for the values below min(size, kMaxSize).
  explicit DecimalTable(uint32_t size);

  // Writes `value` in decimal and a comma at `p` and returns the end. Needs kMaxWrittenBytes
  // of room at `p`; the bytes between the end and p + 8 may be overwritten.
  char* WriteWithComma(uint32_t value, char* p) const {
    if (value < entries_.size()) {
      const uint64_t entry = entries_[value];
      std::memcpy(p, &entry, 8);  // the top byte, the count, is overwritten by what follows
      return p + (entry >> 56);
    }
    p = std::to_chars(p, p + kMaxWrittenBytes - 1, value).ptr;
    *p++ = ',';
    return p;
  }

 private:
  std::vector<uint64_t> entries_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_DECIMAL_TABLE_H_
