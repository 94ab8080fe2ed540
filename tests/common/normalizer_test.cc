#include "common/normalizer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace shardstream {
namespace {

std::string Normalize(std::string_view json, std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser.parse(simdjson::padded_string(json)).value();
  absl::StatusOr<Normalizer> n = Normalizer::FromJson(e);
  EXPECT_TRUE(n.ok()) << n.status();
  std::string out;
  n->Normalize(text, &out);
  return out;
}

TEST(Normalizer, UnicodeForms) {
  EXPECT_EQ(Normalize(R"({"type":"NFC"})", "e\u0301"), "\u00E9");
  EXPECT_EQ(Normalize(R"({"type":"NFD"})", "\u00E9"), "e\u0301");
  EXPECT_EQ(Normalize(R"({"type":"NFKC"})", "\uFB01\u2460"), "fi1");
  EXPECT_EQ(Normalize(R"({"type":"NFKD"})", "\u00E9\uFB01"), "e\u0301fi");
}

// Hugging Face's tables are not ICU's: where they differ on a code point (Unicode versions),
// Hugging Face's result is taken (values from tools/reference/normalization_reference.js).
TEST(Normalizer, HuggingFacesTablesWinWhereTheyDifferFromIcu) {
  // U+10781 MODIFIER LETTER SUPERSCRIPT TRIANGULAR COLON: ICU 72 decomposes it under NFKC,
  // Hugging Face's unicode-normalization tables keep it.
  EXPECT_EQ(Normalize(R"({"type":"NFKC"})", "a\U00010781b"), "a\U00010781b");
  // Garay capital letters (Unicode 16) lowercase in Rust, not in ICU 72.
  EXPECT_EQ(Normalize(R"({"type":"Lowercase"})", "A\U00010D50"), "a\U00010D70");
  // The text around such a character is still normalized.
  EXPECT_EQ(Normalize(R"({"type":"NFKC"})", "\uFB01\U00010781\u2460"), "fi\U000107811");
}

TEST(Normalizer, StringSteps) {
  EXPECT_EQ(Normalize(R"({"type":"Lowercase"})", "ÀBC\u0130"), "àbci\u0307");
  EXPECT_EQ(Normalize(R"({"type":"Strip","strip_left":true,"strip_right":false})", " \u3000x "),
            "x ");
  EXPECT_EQ(Normalize(R"({"type":"StripAccents"})", "e\u0301a\u0308"), "ea");
  EXPECT_EQ(
      Normalize(R"({"type":"Replace","pattern":{"String":" "},"content":"\u2581"})", "a b  c"),
      "a\u2581b\u2581\u2581c");
  EXPECT_EQ(Normalize(R"({"type":"Replace","pattern":{"Regex":"\\s+"},"content":"-"})", "a \t b"),
            "a-b");
  EXPECT_EQ(Normalize(R"({"type":"Prepend","prepend":"\u2581"})", "x"), "\u2581x");
  EXPECT_EQ(Normalize(R"({"type":"Prepend","prepend":"\u2581"})", ""), "");  // as Hugging Face
  EXPECT_EQ(Normalize(R"({"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"}]})",
                      "\uFB01X"),
            "fix");
}

TEST(Normalizer, RefusesOthersByName) {
  simdjson::dom::parser parser;
  simdjson::dom::element e = parser
                                 .parse(simdjson::padded_string(std::string_view(
                                     R"({"type":"Sequence","normalizers":[{"type":"Nmt"}]})")))
                                 .value();
  EXPECT_EQ(Normalizer::FromJson(e).status().message(),
            "unsupported tokenizer: normalizer Nmt (see docs/tokenizer.md)");
}

}  // namespace
}  // namespace shardstream
