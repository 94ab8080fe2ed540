#include "common/unicode_regex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace shardstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::vector<std::pair<size_t, size_t>> Matches(std::string_view pattern, std::string_view text) {
  absl::StatusOr<UnicodeRegex> re = UnicodeRegex::Compile(pattern);
  EXPECT_TRUE(re.ok()) << re.status();
  std::vector<UnicodeRegex::Match> matches;
  re->FindAll(text, &matches);
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& m : matches) out.emplace_back(m.begin, m.end);
  return out;
}

TEST(UnicodeRegex, EmptyMatchesFollowOnigurumasIteration) {
  // The onig crate skips an empty match right where the previous match ended.
  EXPECT_THAT(Matches("a*", "baab"), ElementsAre(Pair(0, 0), Pair(1, 3), Pair(4, 4)));
  EXPECT_THAT(Matches("x?", "é"), ElementsAre(Pair(0, 0), Pair(2, 2)));
}

// Where PCRE2's own Unicode tables (Unicode 14 in Debian 12) and Hugging Face's Oniguruma
// (Unicode 16) disagree, the pattern follows Hugging Face's.
TEST(UnicodeRegex, PropertiesAreHuggingFacesNotPcre2s) {
  EXPECT_THAT(Matches(R"(\p{L}+)", "a\u1C89b"), ElementsAre(Pair(0, 5)));  // Unicode 16 letter
  EXPECT_THAT(Matches(R"([^\p{L}]+)", "a\u1C89b"), ElementsAre());
  EXPECT_THAT(Matches(R"(\p{N})", "\U00010D40"), ElementsAre(Pair(0, 4)));  // Garay digit
  EXPECT_THAT(Matches(R"(\s)", "\u180E"), ElementsAre());  // not White_Space any more
  EXPECT_THAT(Matches(R"(\S)", "\u180E"), ElementsAre(Pair(0, 3)));
  EXPECT_THAT(Matches(R"(\s)", "\u0085"), ElementsAre(Pair(0, 2)));
  EXPECT_THAT(Matches(R"(\pL+)", "ab1"), ElementsAre(Pair(0, 2)));
  EXPECT_THAT(Matches(R"(\P{Lu}+)", "abC"), ElementsAre(Pair(0, 2)));
  EXPECT_THAT(Matches(R"(\p{^Lu}+)", "abC"), ElementsAre(Pair(0, 2)));
  EXPECT_THAT(Matches(R"([\S\d]+)", "ab 12"), ElementsAre(Pair(0, 2), Pair(3, 5)));
}

TEST(UnicodeRegex, OnigurumaEscapesTranslate) {
  EXPECT_THAT(Matches(R"(\h+)", "xyz0fF9g"), ElementsAre(Pair(3, 7)));      // a hex digit
  EXPECT_THAT(Matches(R"(\p{Han}+)", "ab中文c"), ElementsAre(Pair(2, 8)));  // PCRE2's scripts
  EXPECT_THAT(Matches("(?i:'s)", "IT'S it'\u017F"),
              ElementsAre(Pair(2, 4), Pair(7, 10)));  // ſ folds to s
}

TEST(UnicodeRegex, LiteralQuotesEverything) {
  absl::StatusOr<UnicodeRegex> re = UnicodeRegex::Literal("a.b[c]");
  ASSERT_TRUE(re.ok());
  std::vector<UnicodeRegex::Match> m;
  re->FindAll("a.b[c] axb[c]", &m);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].begin, 0u);
  EXPECT_TRUE(re->is_literal());
}

TEST(UnicodeRegex, RefusesWhatPcre2WouldReadDifferently) {
  EXPECT_THAT(UnicodeRegex::Compile("[a[b]]").status().message(), HasSubstr("nested"));
  EXPECT_THAT(UnicodeRegex::Compile("[a-z&&[^b]]").status().message(), HasSubstr("&&"));
  EXPECT_THAT(UnicodeRegex::Compile("(a").status().message(), HasSubstr("does not compile"));
  EXPECT_TRUE(UnicodeRegex::Compile("[[:alpha:]]+").ok());
}

}  // namespace
}  // namespace shardstream
