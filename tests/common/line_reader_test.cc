#include "common/line_reader.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using testing::Gzip;
using testing::TempDir;
using testing::WriteFile;

struct Collected {
  std::vector<std::string> lines;
  std::vector<uint64_t> numbers;
  std::vector<bool> too_long;
  absl::Status status;
  uint64_t decoded_bytes = 0;
  uint64_t dropped = 0;
};

Collected Collect(const std::string& path, v1::Compression c, size_t max_line_bytes) {
  Collected out;
  auto stream = DecodedStream::Open(path, c);
  EXPECT_TRUE(stream.ok());
  LineReader reader(stream->get(), max_line_bytes);
  Line line;
  while (reader.Next(&line)) {
    out.lines.emplace_back(line.text);
    out.numbers.push_back(line.number);
    out.too_long.push_back(line.too_long);
  }
  out.status = reader.status();
  out.decoded_bytes = reader.decoded_bytes();
  out.dropped = reader.dropped_tail_bytes();
  return out;
}

TEST(LineReader, SplitsLinesOfAnyLengthAcrossBufferRefills) {
  TempDir dir;
  std::mt19937 rng(42);
  std::vector<std::string> expected;
  std::string content;
  for (int i = 0; i < 400; ++i) {
    // Mostly short lines, some of several MiB to force the buffer to grow.
    size_t len = (i % 97 == 5) ? (3 << 20) + rng() % 1000 : rng() % 3000;
    std::string line(len, static_cast<char>('a' + i % 26));
    expected.push_back(line);
    content += line + "\n";
  }
  WriteFile(dir.Path("a.jsonl"), content);
  Collected got = Collect(dir.Path("a.jsonl"), v1::COMPRESSION_NONE, size_t{64} << 20);
  ASSERT_TRUE(got.status.ok());
  ASSERT_EQ(got.lines.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(got.lines[i], expected[i]) << "line " << i + 1;
    ASSERT_EQ(got.numbers[i], i + 1);
  }
  EXPECT_EQ(got.decoded_bytes, content.size());
}

TEST(LineReader, LastLineWithoutNewlineCountsButNoPhantomEmptyLine) {
  TempDir dir;
  WriteFile(dir.Path("a"), "one\ntwo\r\nthree");
  WriteFile(dir.Path("b"), "one\n\n");
  Collected a = Collect(dir.Path("a"), v1::COMPRESSION_NONE, 1 << 20);
  EXPECT_EQ(a.lines, (std::vector<std::string>{"one", "two\r", "three"}));
  Collected b = Collect(dir.Path("b"), v1::COMPRESSION_NONE, 1 << 20);
  EXPECT_EQ(b.lines, (std::vector<std::string>{"one", ""}));
}

TEST(LineReader, OverlongLineIsSkippedAndItsNeighboursKept) {
  TempDir dir;
  const std::string long_line(3 << 20, 'x');
  WriteFile(dir.Path("a"), "before\n" + long_line + "\nafter\n" + long_line);
  Collected got = Collect(dir.Path("a"), v1::COMPRESSION_NONE, 4096);
  ASSERT_EQ(got.lines.size(), 4u);
  EXPECT_EQ(got.lines[0], "before");
  EXPECT_TRUE(got.too_long[1]);
  EXPECT_EQ(got.lines[1], "");
  EXPECT_EQ(got.lines[2], "after");
  EXPECT_EQ(got.numbers[2], 3u);
  EXPECT_TRUE(got.too_long[3]);
  EXPECT_TRUE(got.status.ok());
}

TEST(LineReader, DamagedStreamDropsOnlyTheUnterminatedTail) {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 200000; ++i) content += "{\"content\": \"line " + std::to_string(i) + "\"}\n";
  const std::string gz = Gzip(content);
  WriteFile(dir.Path("t.gz"), gz.substr(0, gz.size() / 2));
  Collected got = Collect(dir.Path("t.gz"), v1::COMPRESSION_GZIP, 1 << 20);
  EXPECT_EQ(got.status.code(), absl::StatusCode::kDataLoss);
  ASSERT_GT(got.lines.size(), 1000u);
  ASSERT_LT(got.lines.size(), 200000u);
  for (size_t i = 0; i < got.lines.size(); ++i) {
    ASSERT_EQ(got.lines[i], "{\"content\": \"line " + std::to_string(i) + "\"}");
  }
  // Decoded bytes are exactly the complete lines handed out; the partial one is dropped.
  uint64_t handed_out = 0;
  for (const std::string& line : got.lines) handed_out += line.size() + 1;
  EXPECT_EQ(got.decoded_bytes, handed_out);
  EXPECT_LT(got.dropped, content.size() - handed_out);
}

}  // namespace
}  // namespace shardstream
