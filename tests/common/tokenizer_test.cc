#include "common/tokenizer.h"

#include <zlib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::HasSubstr;

const std::string kData = SHARDSTREAM_TEST_DATA_DIR;

std::unique_ptr<Tokenizer> LoadOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromJsonFile(path);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, n);
  gzclose(f);
  return out;
}

struct Reference {
  std::string text;
  std::vector<TokenId> ids;
};

// The 400 documents with the ids Hugging Face tokenizers 0.23.2 gives them (GPT-2).
const std::vector<Reference>& ReferenceDocuments() {
  static const std::vector<Reference>* refs = [] {
    auto* out = new std::vector<Reference>();
    std::string data = Gunzip(kData + "/gpt2/reference-ids.jsonl.gz");
    simdjson::dom::parser parser;
    std::istringstream lines(data);
    for (std::string line; std::getline(lines, line);) {
      simdjson::dom::element doc;
      std::string_view text;
      simdjson::dom::array ids;
      if (parser.parse(line).get(doc) || doc["text"].get_string().get(text) ||
          doc["ids"].get_array().get(ids)) {
        ADD_FAILURE() << "unreadable reference line";
        break;
      }
      Reference r;
      r.text = std::string(text);
      for (simdjson::dom::element id : ids) {
        uint64_t value = 0;
        EXPECT_EQ(id.get_uint64().get(value), simdjson::SUCCESS);
        r.ids.push_back(static_cast<TokenId>(value));
      }
      out->push_back(std::move(r));
    }
    return out;
  }();
  return *refs;
}

TEST(Tokenizer, EncodesTheReferenceDocumentsExactlyLikeHuggingFace) {
  auto t = LoadOrDie(kData + "/gpt2/tokenizer.json");
  Encoder encoder(t.get());
  ASSERT_EQ(ReferenceDocuments().size(), 400u);
  for (size_t i = 0; i < ReferenceDocuments().size(); ++i) {
    const Reference& r = ReferenceDocuments()[i];
    absl::StatusOr<std::vector<TokenId>> ids = encoder.Encode(r.text, EncodeMode::kOrdinary);
    ASSERT_TRUE(ids.ok()) << ids.status();
    ASSERT_EQ(*ids, r.ids) << "document " << i;
  }
}

TEST(Tokenizer, DecodeInvertsEncodeOnEveryReferenceDocument) {
  auto t = LoadOrDie(kData + "/codeparrot/tokenizer.json");
  Encoder encoder(t.get());
  for (const Reference& r : ReferenceDocuments()) {
    for (EncodeMode mode : {EncodeMode::kOrdinary, EncodeMode::kWithSpecials}) {
      absl::StatusOr<std::vector<TokenId>> ids = encoder.Encode(r.text, mode);
      ASSERT_TRUE(ids.ok());
      absl::StatusOr<std::string> back = t->Decode(*ids);
      ASSERT_TRUE(back.ok());
      ASSERT_EQ(*back, r.text);
    }
  }
}

TEST(Tokenizer, SpecialTokensAreTextUnlessAllowed) {
  auto t = LoadOrDie(kData + "/gpt2/tokenizer.json");
  Encoder encoder(t.get());
  const std::string text = "a<|endoftext|>b";
  std::vector<TokenId> ordinary = *encoder.Encode(text, EncodeMode::kOrdinary);
  std::vector<TokenId> special = *encoder.Encode(text, EncodeMode::kWithSpecials);
  EXPECT_THAT(ordinary, ::testing::Not(::testing::Contains(50256u)));
  ASSERT_EQ(special.size(), 3u);
  EXPECT_EQ(special[1], 50256u);
  EXPECT_EQ(t->AddedTokenId("<|endoftext|>"), 50256u);
  EXPECT_EQ(*t->Decode(ordinary), text);
  EXPECT_EQ(*t->Decode(special), text);
}

TEST(Tokenizer, InvalidUtf8IsRefusedWithItsOffset) {
  auto t = LoadOrDie(kData + "/gpt2/tokenizer.json");
  Encoder encoder(t.get());
  for (std::string bad : {std::string("ok \xff"), std::string("ok \xC3"),
                          std::string("ok \xED\xA0\x80"), std::string("ok \xC0\xAF")}) {
    absl::StatusOr<std::vector<TokenId>> ids = encoder.Encode(bad, EncodeMode::kOrdinary);
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ids.status().message(), HasSubstr("at byte 3"));
  }
  EXPECT_EQ(t->Decode({50257}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Tokenizer, FingerprintDependsOnMeaningNotOnFileSyntax) {
  auto json = LoadOrDie(kData + "/gpt2/tokenizer.json");
  absl::StatusOr<std::unique_ptr<Tokenizer>> classic =
      Tokenizer::FromVocabAndMerges(kData + "/gpt2/vocab.json", kData + "/gpt2/merges.txt");
  ASSERT_TRUE(classic.ok()) << classic.status();
  // vocab.json + merges.txt ("a b" merges) describe the same tokenizer as tokenizer.json
  // ([a, b] merges, pretty-printed).
  EXPECT_EQ(json->fingerprint(), (*classic)->fingerprint());
  auto other = LoadOrDie(kData + "/codeparrot/tokenizer.json");
  EXPECT_NE(json->fingerprint(), other->fingerprint());
  EXPECT_EQ(json->vocab_size(), 50257u);
  EXPECT_EQ(other->vocab_size(), 32768u);
}

TEST(Tokenizer, SmallCacheAndThreadsDoNotChangeIds) {
  auto t = LoadOrDie(kData + "/gpt2/tokenizer.json");
  std::vector<std::string> texts;
  for (size_t i = 0; i < 60; ++i) texts.push_back(ReferenceDocuments()[i].text);
  Encoder tiny_cache(t.get(), /*max_cache_entries=*/3);
  for (int jobs : {1, 3}) {
    absl::StatusOr<std::vector<std::vector<TokenId>>> batch =
        EncodeBatch(*t, texts, EncodeMode::kOrdinary, jobs);
    ASSERT_TRUE(batch.ok());
    for (size_t i = 0; i < texts.size(); ++i) {
      ASSERT_EQ((*batch)[i], ReferenceDocuments()[i].ids) << i;
      ASSERT_EQ(*tiny_cache.Encode(texts[i], EncodeMode::kOrdinary), ReferenceDocuments()[i].ids);
    }
  }
}

TEST(Tokenizer, LongPiecesTakeTheHeapPathWithTheSameResult) {
  auto t = LoadOrDie(kData + "/gpt2/tokenizer.json");
  Encoder encoder(t.get());
  // A 129-letter piece merges through the heap; its halves' ids are known from short pieces,
  // and "ab" * k merges the same way whatever the length.
  std::string short_piece, long_piece;
  for (int i = 0; i < 32; ++i) short_piece += "ab";  // 64 bytes: the short path
  for (int i = 0; i < 256; ++i) long_piece += "ab";  // 512 bytes: the heap path
  std::vector<TokenId> s = *encoder.Encode(short_piece, EncodeMode::kOrdinary);
  std::vector<TokenId> l = *encoder.Encode(long_piece, EncodeMode::kOrdinary);
  EXPECT_EQ(*t->Decode(l), long_piece);
  // "ab" repeated: BPE merges pairwise from the left, so the long piece is the short one's
  // tokens 8 times over when 64 divides evenly into the merge structure.
  std::vector<TokenId> eight;
  for (int i = 0; i < 8; ++i) eight.insert(eight.end(), s.begin(), s.end());
  EXPECT_EQ(l, eight);
}

TEST(Tokenizer, RefusesWhatItDoesNotImplement) {
  const std::string ok_model = R"("model":{"type":"BPE","vocab":{"a":0},"merges":[]})";
  auto load = [](const std::string& json) { return Tokenizer::FromJson(json).status(); };
  EXPECT_THAT(load(R"({"normalizer":{"type":"BertNormalizer"},)" + ok_model + "}").message(),
              HasSubstr("normalizer BertNormalizer"));
  EXPECT_THAT(load(R"({"normalizer":{"type":"Precompiled"},)" + ok_model + "}").message(),
              HasSubstr("normalizer Precompiled"));
  EXPECT_THAT(load(R"({"pre_tokenizer":{"type":"UnicodeScripts"},)" + ok_model + "}").message(),
              HasSubstr("pre_tokenizer UnicodeScripts"));
  EXPECT_THAT(load(R"({"decoder":{"type":"WordPiece"},)" + ok_model + "}").message(),
              HasSubstr("decoder WordPiece"));
  EXPECT_THAT(
      load(
          R"({"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"ByteLevel"},{"type":"Digits"}]},)" +
          ok_model + "}")
          .message(),
      HasSubstr("ByteLevel must come last"));
  EXPECT_THAT(
      load(
          R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"[a[b]]"},"behavior":"Isolated"},)" +
          ok_model + "}")
          .message(),
      HasSubstr("nested"));
  EXPECT_THAT(
      load(R"({"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated"},)" +
           ok_model + "}")
          .message(),
      HasSubstr("does not compile"));
  EXPECT_THAT(
      load(R"({"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"Unigram"}})").message(),
      HasSubstr("model Unigram"));
  EXPECT_THAT(
      load(R"({"model":{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}})").message(),
      HasSubstr("unk_token"));
  // A ByteLevel pre-tokenizer needs the 256 byte tokens.
  EXPECT_THAT(load(R"({"pre_tokenizer":{"type":"ByteLevel"},)" + ok_model + "}").message(),
              HasSubstr("no token for byte"));
  EXPECT_EQ(load("not json").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shardstream
