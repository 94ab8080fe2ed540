// Damaged and unusual compressed files, each test named after what went wrong before (issue 16).
// Inputs are written with zlib and libzstd directly, independent of the decoders under test.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader
#include <zstd.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "common/corpus_file_reader.h"
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

// `count` documents of pseudo-random words (compressible, but not to nothing), numbered from
// `first`.
std::vector<std::string> Texts(int first, int count) {
  std::vector<std::string> out;
  uint64_t x = 88172645463325252ull + first;
  for (int i = first; i < first + count; ++i) {
    std::string t = absl::StrCat("doc ", i, ":");
    for (int w = 0; w < 40; ++w) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      t += ' ';
      for (int c = 0; c < 2 + static_cast<int>(x % 7); ++c)
        t += static_cast<char>('a' + (x >> (8 + 5 * c)) % 26);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string JsonLines(const std::vector<std::string>& texts) {
  std::string out;
  for (const std::string& t : texts) absl::StrAppend(&out, R"({"content":")", t, "\"}\n");
  return out;
}

struct ReadResult {
  std::vector<std::string> texts;
  FileScanResult scan;
};

ReadResult ReadAll(const std::string& path, v1::Compression compression) {
  CorpusFileReader reader({});
  ReadResult out;
  absl::StatusOr<FileScanResult> scan =
      reader.Read(path, compression, [&](uint64_t, const ParsedLine& doc) {
        out.texts.emplace_back(doc.text);
        return true;
      });
  EXPECT_TRUE(scan.ok()) << scan.status();
  if (scan.ok()) out.scan = *scan;
  return out;
}

uint64_t BadCount(const FileScanResult& scan, v1::BadLineKind kind) {
  for (const v1::BadLineCount& b : scan.bad_lines) {
    if (b.kind() == kind) return b.count();
  }
  return 0;
}

// Finding: a .zst corrupted mid-stream kept 0 of the 24 documents `zstd -dc` recovers before the
// damage: zstd does not report the output of a call that fails, and one call decoded the whole
// file. Here the block at ~60% of the file gets the reserved block type, which the decoder
// rejects exactly there.
TEST(DamagedFiles, ZstdCorruptedMidStreamKeepsTheDocumentsBeforeTheDamage) {
  TempDir dir;
  const std::vector<std::string> texts = Texts(0, 4000);
  std::string z = Zstd(JsonLines(texts));
  ASSERT_GT(z.size(), size_t{400} << 10);  // several 128 KiB blocks
  size_t pos = ZSTD_frameHeaderSize(z.data(), z.size());
  ASSERT_FALSE(ZSTD_isError(pos));
  int blocks = 0;
  while (pos < z.size() * 6 / 10) {
    const uint32_t header = static_cast<uint8_t>(z[pos]) | static_cast<uint8_t>(z[pos + 1]) << 8 |
                            static_cast<uint8_t>(z[pos + 2]) << 16;
    ASSERT_EQ(header & 1, 0u) << "reached the last block";
    const uint32_t type = (header >> 1) & 3, size = header >> 3;
    pos += 3 + (type == 1 ? 1 : size);  // an RLE block stores one byte
    ++blocks;
  }
  ASSERT_GE(blocks, 2);
  z[pos] |= 6;  // block type 3: reserved
  WriteFile(dir.Path("f.jsonl.zst"), z);
  ReadResult r = ReadAll(dir.Path("f.jsonl.zst"), v1::COMPRESSION_ZSTD);
  EXPECT_TRUE(r.scan.damaged);
  EXPECT_THAT(r.scan.error, HasSubstr("corrupt zstd data"));
  EXPECT_EQ(r.scan.unverified_from_line, 0u);
  // The blocks before the damage (~60% of the compressed bytes) decode: well over a third of the
  // documents,
  // each exactly the original at its position.
  EXPECT_GT(r.texts.size(), texts.size() * 4 / 10);
  ASSERT_LT(r.texts.size(), texts.size());
  for (size_t i = 0; i < r.texts.size(); ++i) ASSERT_EQ(r.texts[i], texts[i]) << i;
}

// Finding: a valid `zstd --long=31` file was refused as corrupt ("Frame requires too much
// memory"): the decoder's default window limit is 128 MiB.
TEST(DamagedFiles, ZstdWithATwoGibWindowIsRead) {
  const std::vector<std::string> texts = Texts(0, 50);
  const std::string plain = JsonLines(texts);
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ASSERT_EQ(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 31)), 0u);
  ASSERT_EQ(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)), 0u);
  // Streamed without a known size: the frame header then declares the whole 2 GiB window.
  std::string z(ZSTD_compressBound(plain.size()) + 64, '\0');
  ZSTD_inBuffer in{plain.data(), plain.size(), 0};
  ZSTD_outBuffer out{z.data(), z.size(), 0};
  ASSERT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue)));
  ZSTD_inBuffer none{nullptr, 0, 0};
  ASSERT_EQ(ZSTD_compressStream2(cctx, &out, &none, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(cctx);
  z.resize(out.pos);
  ZSTD_frameHeader header;
  ASSERT_EQ(ZSTD_getFrameHeader(&header, z.data(), z.size()), 0u);
  ASSERT_EQ(header.windowSize, uint64_t{1} << 31);

  TempDir dir;
  WriteFile(dir.Path("f.jsonl.zst"), z);
  ReadResult r = ReadAll(dir.Path("f.jsonl.zst"), v1::COMPRESSION_ZSTD);
  EXPECT_FALSE(r.scan.damaged) << r.scan.error;
  EXPECT_EQ(r.texts, texts);
}

// Finding: 64 corrupted bytes inside a gzip member let 2 documents whose text matched no
// original into the catalog: deflate decodes damaged data into text before it (or the CRC at
// the member's end) fails. Nothing decoded from that member is taken now; earlier members are.
TEST(DamagedFiles, GzipMemberThatFailsIsNotTakenAndEarlierMembersAre) {
  const std::vector<std::string> first = Texts(0, 500), second = Texts(500, 2000);
  std::string member2 = Gzip(JsonLines(second));
  for (size_t i = 0; i < 64; ++i) member2[member2.size() / 2 + i] ^= 0x5a;
  TempDir dir;
  WriteFile(dir.Path("f.jsonl.gz"), Gzip(JsonLines(first)) + member2);
  ReadResult r = ReadAll(dir.Path("f.jsonl.gz"), v1::COMPRESSION_GZIP);
  EXPECT_TRUE(r.scan.damaged);
  EXPECT_EQ(r.scan.unverified_from_line, first.size() + 1);
  // Delivered (the callback runs before the damage is known), and all counted as unverified.
  ASSERT_GT(r.texts.size(), first.size());
  EXPECT_EQ(BadCount(r.scan, v1::BAD_LINE_UNVERIFIED), r.texts.size() - first.size());
  EXPECT_EQ(std::vector<std::string>(r.texts.begin(), r.texts.begin() + first.size()), first);
}

// The same when only the CRC is wrong: every document of the member decodes, none is taken.
TEST(DamagedFiles, GzipMemberWithAWrongCrcIsNotTaken) {
  const std::vector<std::string> first = Texts(0, 10), second = Texts(10, 20);
  std::string member2 = Gzip(JsonLines(second));
  member2[member2.size() - 8] ^= 1;  // the CRC-32 in the trailer
  TempDir dir;
  WriteFile(dir.Path("f.jsonl.gz"), Gzip(JsonLines(first)) + member2);
  ReadResult r = ReadAll(dir.Path("f.jsonl.gz"), v1::COMPRESSION_GZIP);
  EXPECT_TRUE(r.scan.damaged);
  EXPECT_THAT(r.scan.error, HasSubstr("CRC-32 mismatch"));
  EXPECT_EQ(r.texts.size(), first.size() + second.size());
  EXPECT_EQ(r.scan.unverified_from_line, first.size() + 1);
  EXPECT_EQ(BadCount(r.scan, v1::BAD_LINE_UNVERIFIED), second.size());
}

// A truncated member stays as before: what decoded is a correct prefix, and is kept.
TEST(DamagedFiles, TruncatedGzipKeepsItsCompleteLines) {
  const std::vector<std::string> texts = Texts(0, 300);
  std::string gz = Gzip(JsonLines(texts));
  gz.resize(gz.size() / 2);
  TempDir dir;
  WriteFile(dir.Path("f.jsonl.gz"), gz);
  ReadResult r = ReadAll(dir.Path("f.jsonl.gz"), v1::COMPRESSION_GZIP);
  EXPECT_TRUE(r.scan.damaged);
  EXPECT_EQ(r.scan.unverified_from_line, 0u);
  EXPECT_EQ(BadCount(r.scan, v1::BAD_LINE_UNVERIFIED), 0u);
  ASSERT_GT(r.texts.size(), 0u);
  for (size_t i = 0; i < r.texts.size(); ++i) ASSERT_EQ(r.texts[i], texts[i]);
}

// Finding: a UTF-8 byte order mark cost the file its first document (invalid JSON).
TEST(DamagedFiles, ByteOrderMarkDoesNotCostTheFirstDocument) {
  const std::vector<std::string> texts = Texts(0, 3);
  TempDir dir;
  WriteFile(dir.Path("f.jsonl"), "\xEF\xBB\xBF" + JsonLines(texts));
  WriteFile(dir.Path("f.jsonl.gz"), Gzip("\xEF\xBB\xBF" + JsonLines(texts)));
  for (auto [name, compression] : {std::pair{"f.jsonl", v1::COMPRESSION_NONE},
                                   std::pair{"f.jsonl.gz", v1::COMPRESSION_GZIP}}) {
    ReadResult r = ReadAll(dir.Path(name), compression);
    EXPECT_EQ(r.texts, texts) << name;
    EXPECT_TRUE(r.scan.bad_lines.empty()) << name;
  }
}

// Finding: zero padding after the last gzip member (tape and block writers add it) marked the
// file damaged. Anything else after the members still does.
TEST(DamagedFiles, ZeroPaddingAfterTheLastGzipMemberIsNotDamage) {
  const std::vector<std::string> texts = Texts(0, 20);
  TempDir dir;
  WriteFile(dir.Path("padded.jsonl.gz"),
            Gzip(JsonLines(texts)) + std::string(size_t{3} << 20, '\0'));
  ReadResult r = ReadAll(dir.Path("padded.jsonl.gz"), v1::COMPRESSION_GZIP);
  EXPECT_FALSE(r.scan.damaged) << r.scan.error;
  EXPECT_EQ(r.texts, texts);

  WriteFile(dir.Path("garbage.jsonl.gz"),
            Gzip(JsonLines(texts)) + std::string(100, '\0') + "garbage");
  r = ReadAll(dir.Path("garbage.jsonl.gz"), v1::COMPRESSION_GZIP);
  EXPECT_TRUE(r.scan.damaged);
  EXPECT_EQ(r.texts, texts);
}

}  // namespace
}  // namespace shardstream
