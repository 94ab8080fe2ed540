#include "common/json_line_parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// simdjson needs readable padding after the line: keep lines in a padded buffer.
class Padded {
 public:
  explicit Padded(std::string_view line) : buf_(line) {
    buf_.append(64, ' ');
    size_ = line.size();
  }
  std::string_view view() const { return std::string_view(buf_.data(), size_); }

 private:
  std::string buf_;
  size_t size_;
};

// What Parse() found, copied out of the parser's buffers.
struct Outcome {
  bool ok;
  std::string text;
  std::vector<std::pair<std::string, std::string>> metadata;
  LineError error;
};

Outcome Parse(std::string_view line, const std::string& field = "content") {
  JsonLineParser parser(field);
  Padded padded(line);
  ParsedLine doc;
  Outcome o;
  o.ok = parser.Parse(padded.view(), &doc, &o.error);
  if (o.ok) {
    o.text = std::string(doc.text);
    for (auto& [k, v] : doc.metadata) o.metadata.emplace_back(std::string(k), v);
  }
  return o;
}

TEST(JsonLineParser, TakesTheTextFieldAndKeepsScalarMetadataInOrder) {
  Outcome o = Parse(R"({"repo_name":"a/b","path":"x.py","copies":"3","content":"print(1)\n",)"
                    R"("size":12,"stars":null,"ok":true,"tags":["x"],"meta":{"k":1}})");
  ASSERT_TRUE(o.ok) << o.error.message;
  EXPECT_EQ(o.text, "print(1)\n");
  EXPECT_THAT(o.metadata,
              ElementsAre(Pair("repo_name", "a/b"), Pair("path", "x.py"), Pair("copies", "3"),
                          Pair("size", "12"), Pair("stars", "null"), Pair("ok", "true")));
}

TEST(JsonLineParser, UnescapesTheTextIncludingSurrogatePairs) {
  Outcome o = Parse(R"({"content":"tab\tquote\" \u00e9 \ud83d\ude00"})");
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.text, "tab\tquote\" \xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(JsonLineParser, ConfigurableTextField) {
  Outcome o = Parse(R"({"text":"hello","content":5})", "text");
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.text, "hello");
}

TEST(JsonLineParser, ClassifiesBadLines) {
  struct Case {
    const char* line;
    v1::BadLineKind kind;
  } cases[] = {
      {R"({"content": "unterminated)", v1::BAD_LINE_INVALID_JSON},
      {R"({"content": "x"} trailing)", v1::BAD_LINE_INVALID_JSON},
      {R"(["content", "x"])", v1::BAD_LINE_INVALID_JSON},
      {R"("just a string")", v1::BAD_LINE_INVALID_JSON},
      {R"({"text": "x"})", v1::BAD_LINE_MISSING_FIELD},
      {R"({"content": 12})", v1::BAD_LINE_FIELD_NOT_STRING},
      {R"({"content": null})", v1::BAD_LINE_FIELD_NOT_STRING},
      {R"({"content": ["a"]})", v1::BAD_LINE_FIELD_NOT_STRING},
      {"{\"content\": \"bad \xff byte\"}", v1::BAD_LINE_INVALID_UTF8},
      {"{\"content\": \"ok\", \"path\": \"\xc3\x28\"}", v1::BAD_LINE_INVALID_UTF8},
      {R"({"content": "lone \ud800 surrogate"})", v1::BAD_LINE_INVALID_UTF8},
      {R"({"content": "lone low \uDC00"})", v1::BAD_LINE_INVALID_UTF8},
  };
  for (const Case& c : cases) {
    Outcome o = Parse(c.line);
    EXPECT_FALSE(o.ok) << c.line;
    EXPECT_EQ(o.error.kind, c.kind) << c.line << ": " << o.error.message;
    EXPECT_FALSE(o.error.message.empty());
  }
}

TEST(JsonLineParser, RepeatedTextKeyTakesTheLastLikePython) {
  Outcome o = Parse(R"({"content": 1, "content": "second"})");
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.text, "second");
}

TEST(JsonLineParser, BlankLinesAreRecognised) {
  EXPECT_TRUE(JsonLineParser::IsBlank(""));
  EXPECT_TRUE(JsonLineParser::IsBlank(" \t\r"));
  EXPECT_FALSE(JsonLineParser::IsBlank(" {}"));
}

TEST(JsonLineParser, LongMetadataIsCutAtACharacterBoundary) {
  std::string value;
  for (int i = 0; i < 600; ++i) value += "\xC3\xA9";  // 1200 bytes of 'é'
  Outcome o = Parse(R"({"content":"x","path":")" + value + R"("})");
  ASSERT_TRUE(o.ok);
  ASSERT_EQ(o.metadata.size(), 1u);
  EXPECT_EQ(o.metadata[0].second.size(), 1024u);
  EXPECT_EQ(TruncateUtf8("a\xC3\xA9", 2), "a");
  EXPECT_EQ(TruncateUtf8("a\xC3\xA9", 3), "a\xC3\xA9");
}

}  // namespace
}  // namespace shardstream
