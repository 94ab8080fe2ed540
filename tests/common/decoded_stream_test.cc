#include "common/decoded_stream.h"

#include <random>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using testing::Gzip;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;
using testing::Zstd;

// Text that compresses like real code but not trivially.
std::string SampleText(size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  const char* words[] = {"def ",        "return ", "self",       ".value", " = ",
                         "\n",          "    ",    "(x)",        "if ",    "for i in range(n):",
                         "import os\n", "\"doc\"", "# comment\n"};
  std::string out;
  while (out.size() < bytes) out += words[rng() % (sizeof(words) / sizeof(words[0]))];
  out.resize(bytes);
  return out;
}

struct ReadResult {
  std::string data;
  absl::Status status;
};

ReadResult ReadAll(DecodedStream& stream, size_t chunk = 7919) {
  ReadResult r;
  std::string buf(chunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = stream.Read(buf.data(), buf.size());
    if (!n.ok()) {
      r.status = n.status();
      return r;
    }
    if (*n == 0) return r;
    r.data.append(buf.data(), *n);
  }
}

ReadResult ReadFileAs(const std::string& path, v1::Compression compression) {
  absl::StatusOr<std::unique_ptr<DecodedStream>> stream = DecodedStream::Open(path, compression);
  if (!stream.ok()) return ReadResult{"", stream.status()};
  return ReadAll(**stream);
}

TEST(DecodedStream, PlainFileIsReadAsIs) {
  TempDir dir;
  const std::string text = SampleText(3 << 20, 1);
  WriteFile(dir.Path("a.jsonl"), text);
  ReadResult r = ReadFileAs(dir.Path("a.jsonl"), v1::COMPRESSION_NONE);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.data, text);
}

TEST(DecodedStream, GzipMultiMemberFileIsTheConcatenation) {
  TempDir dir;
  const std::string a = SampleText(2 << 20, 2), b = SampleText(1 << 20, 3), c = "tail\n";
  WriteFile(dir.Path("a.gz"), Gzip(a) + Gzip(b) + Gzip(c));
  ReadResult r = ReadFileAs(dir.Path("a.gz"), v1::COMPRESSION_GZIP);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.data, a + b + c);
}

TEST(DecodedStream, EmptyFilesAreEmptyNotDamaged) {
  TempDir dir;
  WriteFile(dir.Path("e.gz"), "");
  WriteFile(dir.Path("e.zst"), "");
  for (auto [name, c] :
       {std::pair{"e.gz", v1::COMPRESSION_GZIP}, {"e.zst", v1::COMPRESSION_ZSTD}}) {
    ReadResult r = ReadFileAs(dir.Path(name), c);
    EXPECT_TRUE(r.status.ok()) << name << ": " << r.status;
    EXPECT_EQ(r.data, "");
  }
}

TEST(DecodedStream, TruncatedGzipYieldsAPrefixThenDataLoss) {
  TempDir dir;
  const std::string text = SampleText(4 << 20, 4);
  const std::string gz = Gzip(text);
  WriteFile(dir.Path("t.gz"), gz.substr(0, gz.size() / 2));
  ReadResult r = ReadFileAs(dir.Path("t.gz"), v1::COMPRESSION_GZIP);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status.message(), HasSubstr("truncated"));
  EXPECT_GT(r.data.size(), text.size() / 4);
  EXPECT_EQ(r.data, text.substr(0, r.data.size()));
}

TEST(DecodedStream, CorruptGzipIsDataLoss) {
  TempDir dir;
  std::string gz = Gzip(SampleText(1 << 20, 5));
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) gz[i] = static_cast<char>(~gz[i]);
  WriteFile(dir.Path("c.gz"), gz);
  ReadResult r = ReadFileAs(dir.Path("c.gz"), v1::COMPRESSION_GZIP);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
}

TEST(DecodedStream, GarbageAfterTheLastGzipMemberIsDataLoss) {
  TempDir dir;
  const std::string text = SampleText(10000, 6);
  WriteFile(dir.Path("g.gz"), Gzip(text) + "this is not gzip");
  ReadResult r = ReadFileAs(dir.Path("g.gz"), v1::COMPRESSION_GZIP);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.data, text);
}

TEST(DecodedStream, ZstdMultiFrameFileIsTheConcatenation) {
  TempDir dir;
  const std::string a = SampleText(3 << 20, 7), b = SampleText(5000, 8);
  WriteFile(dir.Path("a.zst"), Zstd(a) + Zstd(b));
  ReadResult r = ReadFileAs(dir.Path("a.zst"), v1::COMPRESSION_ZSTD);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.data, a + b);
}

TEST(DecodedStream, TruncatedZstdYieldsAPrefixThenDataLoss) {
  TempDir dir;
  const std::string text = SampleText(4 << 20, 9);
  const std::string z = Zstd(text);
  WriteFile(dir.Path("t.zst"), z.substr(0, z.size() * 3 / 4));
  ReadResult r = ReadFileAs(dir.Path("t.zst"), v1::COMPRESSION_ZSTD);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status.message(), HasSubstr("truncated"));
  EXPECT_EQ(r.data, text.substr(0, r.data.size()));
}

TEST(DecodedStream, ChecksumCoversTheWholeFileEvenWhenDamaged) {
  TempDir dir;
  const std::string gz = Gzip(SampleText(1 << 20, 10));
  const std::string damaged = gz.substr(0, 1000) + std::string(5000, 'x') + gz.substr(6000);
  WriteFile(dir.Path("d.gz"), damaged);
  auto stream = DecodedStream::Open(dir.Path("d.gz"), v1::COMPRESSION_GZIP);
  ASSERT_TRUE(stream.ok());
  ReadResult r = ReadAll(**stream);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<Hash128> checksum = (*stream)->raw().FinishChecksum();
  ASSERT_TRUE(checksum.ok());
  EXPECT_EQ(*checksum, HashBytes(damaged));
  EXPECT_EQ((*stream)->raw().bytes_read(), damaged.size());
}

TEST(DecodedStream, MissingFileIsNotFound) {
  TempDir dir;
  auto stream = DecodedStream::Open(dir.Path("nope.jsonl"), v1::COMPRESSION_NONE);
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace shardstream
