#include "common/minhash.h"

#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;

TEST(ShinglesTest, WordsAreLowercasedRunsOfAsciiLettersDigitsAndUnderscore) {
  EXPECT_THAT(ShingleWords("def Foo_bar(x1, y):\n  return x1+y  # héllo"),
              ElementsAre("def", "foo_bar", "x1", "y", "return", "x1", "y", "h", "llo"));
  EXPECT_THAT(ShingleWords("  ,,, \n"), ElementsAre());
}

TEST(ShinglesTest, FiveWordShinglesAsASet) {
  EXPECT_THAT(Shingles("a b c d e f", 5), ElementsAre("a b c d e", "b c d e f"));
  EXPECT_THAT(Shingles("a b c d e a b c d e", 5),
              ElementsAre("a b c d e", "b c d e a", "c d e a b", "d e a b c", "e a b c d"));
  // Fewer words than the n-gram: one shingle of all of them.
  EXPECT_THAT(Shingles("x = y", 5), ElementsAre("x y"));
  EXPECT_THAT(Shingles("(!)", 5), ElementsAre());
}

TEST(ShinglesTest, VectorizedWordHashesMatchTheWordDefinition) {
  std::mt19937_64 rng(9);
  const std::string alphabet = "aZ_9 .\n\xc3\xa9(xYq0";
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const size_t size = rng() % 300;
    for (size_t i = 0; i < size; ++i) {
      // Long runs of word bytes too, across the 16- and 64-byte blocks of the scan.
      if (rng() % 50 == 0) text += std::string(rng() % 90, "Ab_7"[rng() % 4]);
      text += alphabet[rng() % alphabet.size()];
    }
    std::vector<uint64_t> expected;
    for (const std::string& w : ShingleWords(text)) expected.push_back(WordHash(w));
    ASSERT_EQ(WordHashes(text), expected) << text;
  }
  EXPECT_EQ(WordHashes("Foo_Bar"), std::vector<uint64_t>{WordHash("foo_bar")});
  EXPECT_NE(WordHash("foo_bar"), WordHash("foo bar"));
  EXPECT_NE(WordHash("abcdefgh_1"), WordHash("abcdefgh_2"));  // past the first 8 bytes
}

TEST(MinHasherTest, SignatureDependsOnTheShingleSetOnly) {
  MinHasher hasher(MinHashParams{});
  std::vector<uint16_t> a, b, c;
  ASSERT_TRUE(hasher.Sign("import os\nprint(os.getcwd())  # where", &a));
  ASSERT_TRUE(hasher.Sign("IMPORT   os;; print ( os . GETCWD ( ) ) where", &b));
  ASSERT_TRUE(hasher.Sign("import sys\nprint(sys.argv)  # what", &c));
  EXPECT_EQ(a.size(), 256u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FALSE(hasher.Sign("{}();", &a));
  EXPECT_TRUE(a.empty());
}

TEST(MinHasherTest, SeedChangesTheSignature) {
  MinHashParams other;
  other.seed = 7;
  std::vector<uint16_t> a, b;
  ASSERT_TRUE(MinHasher(MinHashParams{}).Sign("one two three four five six seven", &a));
  ASSERT_TRUE(MinHasher(other).Sign("one two three four five six seven", &b));
  EXPECT_NE(a, b);
}

// Two texts of distinct random words sharing `common` of their words, built so that their
// 1-gram shingle sets have Jaccard common / (2 · size - common).
std::pair<std::string, std::string> TextsWithOverlap(std::mt19937_64& rng, int size, int common) {
  auto word = [&] { return absl::StrCat("w", rng()); };
  std::vector<std::string> shared, a, b;
  for (int i = 0; i < common; ++i) shared.push_back(word());
  a = shared;
  b = shared;
  for (int i = common; i < size; ++i) {
    a.push_back(word());
    b.push_back(word());
  }
  return {absl::StrJoin(a, " "), absl::StrJoin(b, " ")};
}

TEST(MinHasherTest, EstimatesJaccardWithinSamplingError) {
  MinHashParams params;
  params.ngram = 1;
  MinHasher hasher(params);
  std::mt19937_64 rng(1);
  // Small sets exercise densification (most bins empty: both of its ways to find a bin's
  // source), large ones the plain bins.
  for (int size : {6, 12, 40, 100, 1000, 5000}) {
    for (double target : {0.3, 0.5, 0.7, 0.9}) {
      // common / (2 size - common) = target  =>  common = 2 size target / (1 + target)
      const int common = static_cast<int>(2 * size * target / (1 + target) + 0.5);
      const double exact = static_cast<double>(common) / (2 * size - common);
      double sum = 0;
      constexpr int kTrials = 40;
      for (int t = 0; t < kTrials; ++t) {
        auto [x, y] = TextsWithOverlap(rng, size, common);
        std::vector<uint16_t> sx, sy;
        ASSERT_TRUE(hasher.Sign(x, &sx));
        ASSERT_TRUE(hasher.Sign(y, &sy));
        sum += EstimatedJaccard(sx.data(), sy.data(), sx.size());
      }
      // The mean of 40 estimates: unbiased within a few standard errors (≈ 0.03 / √40).
      EXPECT_NEAR(sum / kTrials, exact, 0.03) << "size " << size << " jaccard " << exact;
    }
  }
}

TEST(LshTest, OptimalBandsSeparateAroundTheThreshold) {
  const LshBands b = OptimalBands(0.7, 256);
  EXPECT_LE(b.bands * b.rows, 256u);
  EXPECT_GT(CandidateProbability(0.85, b), 0.99);
  EXPECT_LT(CandidateProbability(0.4, b), 0.01);
  EXPECT_GT(CandidateProbability(0.7, b), 0.2);
  // A higher threshold needs more rows per band.
  EXPECT_GT(OptimalBands(0.9, 256).rows, b.rows);
}

TEST(LshTest, BandHashesCompareBandsOnly) {
  std::vector<uint16_t> a(20, 1), b(20, 1);
  const LshBands bands{4, 5};
  b[7] = 9;  // band 1
  EXPECT_EQ(BandHash(a.data(), bands, 0), BandHash(b.data(), bands, 0));
  EXPECT_NE(BandHash(a.data(), bands, 1), BandHash(b.data(), bands, 1));
  EXPECT_NE(BandHash(a.data(), bands, 0), BandHash(a.data(), bands, 2));  // seeded by band
}

TEST(MinHashParamsTest, ValidatesAndFingerprintsEveryField) {
  MinHashParams p;
  EXPECT_TRUE(p.Validate().ok());
  std::set<std::string> prints = {p.Fingerprint().ToHex()};
  MinHashParams q = p;
  q.permutations = 128;
  prints.insert(q.Fingerprint().ToHex());
  q = p;
  q.ngram = 3;
  prints.insert(q.Fingerprint().ToHex());
  q = p;
  q.seed = 1;
  prints.insert(q.Fingerprint().ToHex());
  EXPECT_EQ(prints.size(), 4u);
  q = p;
  q.permutations = 8;
  EXPECT_FALSE(q.Validate().ok());
  q = p;
  q.ngram = 0;
  EXPECT_FALSE(q.Validate().ok());
}

}  // namespace
}  // namespace shardstream
