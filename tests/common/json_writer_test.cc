#include "common/json_writer.h"

#include "gtest/gtest.h"

namespace shardstream {
namespace {

TEST(JsonWriter, NestsWithCommasAndEscapes) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.Uint(1);
  w.Key("list");
  w.BeginArray();
  w.String("q\"\\\n\x01");
  w.Null();
  w.Bool(false);
  w.Double(0.25);
  w.EndArray();
  w.Key("o");
  w.BeginObject();
  w.EndObject();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"list":["q\"\\\n\u0001",null,false,0.25],"o":{}})");
}

TEST(JsonWriter, InvalidUtf8BecomesReplacementCharacter) {
  std::string out;
  JsonWriter::AppendQuoted(
      "a\xff"
      "b\xC3\xA9\xED\xA0\x80",
      &out);  // 0xFF, é, encoded surrogate
  EXPECT_EQ(out,
            "\"a\xEF\xBF\xBD"
            "b\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

}  // namespace
}  // namespace shardstream
