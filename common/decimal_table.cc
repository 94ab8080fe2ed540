#include "common/decimal_table.h"

#include <algorithm>
#include <bit>

namespace shardstream {

DecimalTable::DecimalTable(uint32_t size) {
  static_assert(std::endian::native == std::endian::little, "an entry's text is its low bytes");
  entries_.resize(std::min(size, kMaxSize));
  for (uint32_t value = 0; value < entries_.size(); ++value) {
    char text[8] = {};
    char* end = std::to_chars(text, text + 6, value).ptr;
    *end++ = ',';
    const auto count = static_cast<uint64_t>(end - text);
    uint64_t entry;
    std::memcpy(&entry, text, 8);
    entries_[value] = entry | count << 56;
  }
}

}  // namespace shardstream
