#include "common/pre_tokenizer.h"

#include "common/unicode_classes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Split(SplitPattern p, std::string_view text) {
  std::vector<std::string_view> pieces;
  PreTokenize(p, text, &pieces);
  return {pieces.begin(), pieces.end()};
}

// Expected pieces follow from the regexes' definitions (pre_tokenizer.h), worked out by hand.

TEST(PreTokenizer, Gpt2) {
  EXPECT_THAT(Split(SplitPattern::kGpt2, "Hello world's 123!!"),
              ElementsAre("Hello", " world", "'s", " 123", "!!"));
  EXPECT_THAT(Split(SplitPattern::kGpt2, "a  b"), ElementsAre("a", " ", " b"));
  EXPECT_THAT(Split(SplitPattern::kGpt2, "x\n\n  y  "), ElementsAre("x", "\n\n ", " y", "  "));
  EXPECT_THAT(Split(SplitPattern::kGpt2, "I'M it's"), ElementsAre("I", "'", "M", " it", "'s"));
  EXPECT_THAT(Split(SplitPattern::kGpt2, "x\ny"), ElementsAre("x", "\n", "y"));
}

TEST(PreTokenizer, Cl100k) {
  EXPECT_THAT(Split(SplitPattern::kCl100k, "(hello 12345 I'M"),
              ElementsAre("(hello", " ", "123", "45", " I", "'M"));
  EXPECT_THAT(Split(SplitPattern::kCl100k, "a\n\n  b"), ElementsAre("a", "\n\n", " ", " b"));
  EXPECT_THAT(Split(SplitPattern::kCl100k, " ++\n\nx"), ElementsAre(" ++\n\n", "x"));
  EXPECT_THAT(Split(SplitPattern::kCl100k, "it'\xC5\xBF"), ElementsAre("it", "'\xC5\xBF"));
}

TEST(PreTokenizer, RegexSourcesRoundTrip) {
  for (SplitPattern p : {SplitPattern::kGpt2, SplitPattern::kCl100k}) {
    EXPECT_EQ(SplitPatternFromRegex(SplitPatternRegex(p)), p);
  }
  EXPECT_EQ(SplitPatternFromRegex("\\w+"), std::nullopt);
}

TEST(UnicodeClasses, SpotChecks) {
  EXPECT_EQ(ClassOf('a'), CharClass::kLetter);
  EXPECT_EQ(ClassOf(0x4E2D), CharClass::kLetter);  // 中
  EXPECT_EQ(ClassOf(0x0663), CharClass::kNumber);  // Arabic-Indic three
  EXPECT_EQ(ClassOf(0x216B), CharClass::kNumber);  // Roman numeral twelve
  EXPECT_EQ(ClassOf(0x3000), CharClass::kSpace);   // ideographic space
  EXPECT_EQ(ClassOf(0x00A0), CharClass::kSpace);   // no-break space
  EXPECT_EQ(ClassOf(0x0301), CharClass::kOther);   // combining acute
  EXPECT_EQ(ClassOf('_'), CharClass::kOther);
  EXPECT_EQ(ClassOf(0x1F600), CharClass::kOther);  // emoji
  char32_t cp;
  EXPECT_EQ(DecodeUtf8("\xF0\x9F\x98\x80", &cp), 4u);
  EXPECT_EQ(cp, 0x1F600u);
  EXPECT_EQ(DecodeUtf8("\xE0\x80\x80", &cp), 0u);  // overlong
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\xC3\xA9z"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\xC3"), 10u);
}

}  // namespace
}  // namespace shardstream
