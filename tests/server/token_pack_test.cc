#include "server/token_pack.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/huge_pages.h"
#include "gtest/gtest.h"
#include "server/token_store.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

constexpr uint64_t kDocs = 50'000;

// Document d's packed ids: 1 to 64 ids (2 bytes each) that differ by document.
std::string PackedIds(uint64_t d) {
  std::string ids(2 * (1 + d % 64), '\0');
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<char>(d * 31 + i);
  return ids;
}

// Writes a pack of kDocs documents (~3.3 MB: more than one huge page) to `path`.
void WritePack(const std::string& path) {
  TokenPackShape shape;
  shape.num_docs = kDocs;
  absl::StatusOr<std::unique_ptr<TokenPackWriter>> writer = TokenPackWriter::Create(path, shape);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (uint64_t d = 0; d < kDocs; ++d) ASSERT_TRUE((*writer)->Add(d, PackedIds(d)).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
}

// The VmFlags of the mapping of this process that starts at `start` ("" when none does).
std::string VmFlagsOfMappingAt(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (!fields.empty() && absl::StrContains(fields[0], '-') && fields.size() >= 5) {
      uint64_t first = 0;
      const absl::string_view range = fields[0];
      in_mapping = absl::SimpleHexAtoi(range.substr(0, range.find('-')), &first) &&
                   first == reinterpret_cast<uintptr_t>(start);
    } else if (in_mapping && absl::StartsWith(line, "VmFlags:")) {
      return line;
    }
  }
  return "";
}

// A pack mapped for huge pages starts on a 2 MiB boundary and is advised for them (smaps'
// "hg"); one mapped with small pages is not; both read every document the same.
TEST(TokenPack, MappedForHugePagesWhereAsked) {
  if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage")) {
    GTEST_SKIP() << "this kernel has no transparent huge pages: MADV_HUGEPAGE fails, and packs "
                    "are read with small pages, as the test of their reads without it checks";
  }
  testing::TempDir dir;
  TokenPackShape shape;
  shape.num_docs = kDocs;
  WritePack(dir.Path("small.tokens"));
  WritePack(dir.Path("huge.tokens"));
  absl::StatusOr<std::shared_ptr<const TokenPack>> small =
      TokenPack::Open(dir.Path("small.tokens"), shape, PackPages::kSmall);
  absl::StatusOr<std::shared_ptr<const TokenPack>> huge =
      TokenPack::Open(dir.Path("huge.tokens"), shape, PackPages::kHuge);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_TRUE(huge.ok()) << huge.status();
  ASSERT_GT((*huge)->size(), kHugePageBytes);
  EXPECT_FALSE((*small)->huge_pages());
  EXPECT_TRUE((*huge)->huge_pages());
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*huge)->data()) % kHugePageBytes, 0u);
  const std::string huge_flags = VmFlagsOfMappingAt((*huge)->data());
  const std::string small_flags = VmFlagsOfMappingAt((*small)->data());
  ASSERT_FALSE(huge_flags.empty());
  ASSERT_FALSE(small_flags.empty());
  EXPECT_TRUE(absl::StrContains(huge_flags, " hg")) << huge_flags;
  EXPECT_FALSE(absl::StrContains(small_flags, " hg")) << small_flags;
  for (uint64_t d = 0; d < kDocs; ++d) {
    absl::StatusOr<std::string_view> a = (*small)->Tokens(d), b = (*huge)->Tokens(d);
    ASSERT_TRUE(a.ok() && b.ok()) << d;
    ASSERT_EQ(*a, PackedIds(d)) << d;
    ASSERT_EQ(*b, PackedIds(d)) << d;
  }
  // A path open already is shared as it is mapped, whatever the second open asks.
  absl::StatusOr<std::shared_ptr<const TokenPack>> again =
      TokenPack::Open(dir.Path("small.tokens"), shape, PackPages::kHuge);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->get(), small->get());
}

// Huge pages for packs that fit in half the memory free, small pages past that.
TEST(TokenPack, HugePagesOnlyForPacksThatFitInHalfTheMemory) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  EXPECT_EQ(TokenStore::PackPagesOf(kGiB, 2 * kGiB), PackPages::kHuge);
  EXPECT_EQ(TokenStore::PackPagesOf(kGiB + 1, 2 * kGiB), PackPages::kSmall);
  EXPECT_EQ(TokenStore::PackPagesOf(1, 0), PackPages::kSmall);  // memory unknown
}

}  // namespace
}  // namespace shardstream
