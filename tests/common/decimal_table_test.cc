#include "common/decimal_table.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// What `table` writes for `value`, checking that it stays within its kMaxWrittenBytes.
std::string Written(const DecimalTable& table, uint32_t value) {
  char buffer[DecimalTable::kMaxWrittenBytes + 2];
  std::memset(buffer, '#', sizeof(buffer));
  char* end = table.WriteWithComma(value, buffer + 1);
  EXPECT_EQ(buffer[0], '#') << value;
  EXPECT_EQ(buffer[DecimalTable::kMaxWrittenBytes + 1], '#') << value;
  return std::string(buffer + 1, end);
}

// std::to_chars and a comma, the reference.
std::string Expected(uint32_t value) {
  char buffer[16];
  char* end = std::to_chars(buffer, buffer + sizeof(buffer) - 1, value).ptr;
  *end++ = ',';
  return std::string(buffer, end);
}

TEST(DecimalTable, WritesEveryValueInAndBeyondTheTableAsToCharsDoes) {
  for (const uint32_t size : {0u, 1u, 50257u, DecimalTable::kMaxSize}) {
    const DecimalTable table(size);
    for (uint32_t value = 0; value < DecimalTable::kMaxSize + 100'000; ++value) {
      const std::string got = Written(table, value);
      if (got != Expected(value)) FAIL() << "size " << size << ": " << got << " for " << value;
    }
  }
}

TEST(DecimalTable, WritesTheLargestValuesAndALargerTableIsClamped) {
  const DecimalTable table(std::numeric_limits<uint32_t>::max());
  for (const uint32_t value : {999'999u, 1'000'000u, 99'999'999u, 100'000'000u, 4'294'967'295u}) {
    EXPECT_EQ(Written(table, value), Expected(value));
  }
  EXPECT_EQ(Written(table, 4'294'967'295u), "4294967295,");
  EXPECT_EQ(Written(table, 0), "0,");
}

TEST(DecimalTable, ConsecutiveWritesMakeACommaSeparatedList) {
  const DecimalTable table(1000);
  std::string out(5 * DecimalTable::kMaxWrittenBytes, '#');
  char* p = out.data();
  for (const uint32_t value : {7u, 999u, 1000u, 0u, 123456789u}) p = table.WriteWithComma(value, p);
  out.resize(static_cast<size_t>(p - out.data()));
  EXPECT_EQ(out, "7,999,1000,0,123456789,");
}

}  // namespace
}  // namespace shardstream
