#include "common/corpus_files.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::WriteFile;

TEST(CorpusFiles, CompressionFromName) {
  EXPECT_EQ(CorpusCompressionFromName("a.jsonl"), v1::COMPRESSION_NONE);
  EXPECT_EQ(CorpusCompressionFromName("file-000000000001.json.gz"), v1::COMPRESSION_GZIP);
  EXPECT_EQ(CorpusCompressionFromName("A.JSONL.ZST"), v1::COMPRESSION_ZSTD);
  EXPECT_EQ(CorpusCompressionFromName("a.txt"), std::nullopt);
  EXPECT_EQ(CorpusCompressionFromName("a.gz"), std::nullopt);
  EXPECT_EQ(CorpusCompressionFromName("jsonl"), std::nullopt);
}

TEST(CorpusFiles, ListsRecursivelyInPathOrderAndCountsTheRest) {
  TempDir dir;
  WriteFile(dir.Path("c/b.jsonl"), "");
  WriteFile(dir.Path("a.json.gz"), "");
  WriteFile(dir.Path("c/a.jsonl.zst"), "");
  WriteFile(dir.Path("README.md"), "");
  WriteFile(dir.Path("c/notes.txt"), "");
  ASSERT_EQ(::symlink("/nonexistent/x.jsonl", dir.Path("dangling.jsonl").c_str()), 0);
  absl::StatusOr<CorpusListing> listing = ListCorpusFiles({dir.path()});
  ASSERT_TRUE(listing.ok()) << listing.status();
  std::vector<std::string> paths;
  for (const CorpusFile& f : listing->files) paths.push_back(f.relative_path);
  EXPECT_THAT(paths, ElementsAre("a.json.gz", "c/a.jsonl.zst", "c/b.jsonl"));
  EXPECT_EQ(listing->files[0].compression, v1::COMPRESSION_GZIP);
  EXPECT_EQ(listing->files[0].root, dir.path());
  EXPECT_EQ(listing->ignored.size(), 2u);
  ASSERT_EQ(listing->unreadable.size(), 1u);
  EXPECT_THAT(listing->unreadable[0].path, HasSubstr("dangling.jsonl"));
}

TEST(CorpusFiles, AFileArgumentIsRelativeToItsDirectory) {
  TempDir dir;
  WriteFile(dir.Path("sub/one.jsonl"), "x");
  absl::StatusOr<CorpusListing> listing = ListCorpusFiles({dir.Path("sub/one.jsonl")});
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->files.size(), 1u);
  EXPECT_EQ(listing->files[0].relative_path, "one.jsonl");
  EXPECT_EQ(listing->files[0].root, dir.Path("sub"));
  EXPECT_EQ(listing->files[0].size_bytes, 1u);
}

TEST(CorpusFiles, SameRelativePathUnderTwoRootsIsRefused) {
  TempDir dir;
  WriteFile(dir.Path("r1/a.jsonl"), "");
  WriteFile(dir.Path("r2/a.jsonl"), "");
  absl::StatusOr<CorpusListing> listing = ListCorpusFiles({dir.Path("r1"), dir.Path("r2")});
  EXPECT_EQ(listing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(listing.status().message(), HasSubstr("a.jsonl"));
}

TEST(CorpusFiles, MissingPathIsInvalidArgument) {
  TempDir dir;
  EXPECT_EQ(ListCorpusFiles({dir.Path("missing")}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shardstream
