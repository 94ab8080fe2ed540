#include "common/tokenizer.h"

#include <zlib.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/test_util.h"

namespace shardstream {
namespace {

using ::testing::ElementsAre;

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

// Finding: one 48 MiB "word" (no pre-tokenizer split) took 49 s and 1.6 GB: the heap of merge
// candidates misses the cache at every step. Pieces of kMergeByRankSymbols symbols or more
// merge through buckets by rank; here both loops run on the same long pieces and must agree.
TEST(Tokenizer, LongPiecesMergeByRankWithTheHeapsIds) {
  auto gpt2 = LoadOrDie(kData + "/gpt2/tokenizer.json");
  absl::StatusOr<std::unique_ptr<Tokenizer>> sentencepiece =
      Tokenizer::FromJson(Gunzip(kData + "/sentencepiece/tokenizer.json.gz"));
  ASSERT_TRUE(sentencepiece.ok()) << sentencepiece.status();
  // Real words run together (the reference documents' letters only), and random letters.
  std::string letters, random;
  for (const Reference& r : ReferenceDocuments()) {
    for (char c : r.text) {
      if (absl::ascii_isalpha(static_cast<unsigned char>(c))) letters += c;
    }
    if (letters.size() > (300 << 10)) break;
  }
  uint64_t x = 88172645463325252ull;
  while (random.size() < (200 << 10)) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    random += static_cast<char>('a' + x % 26);
  }
  ASSERT_GT(letters.size(), Encoder::kMergeByRankSymbols);
  for (const Tokenizer* t : {gpt2.get(), sentencepiece->get()}) {
    for (const std::string* text : {&letters, &random}) {
      Encoder heap(t), buckets(t);
      heap.set_merge_by_rank_symbols(SIZE_MAX);
      buckets.set_merge_by_rank_symbols(129);  // every piece past the short path
      absl::StatusOr<std::vector<TokenId>> a = heap.Encode(*text, EncodeMode::kOrdinary);
      absl::StatusOr<std::vector<TokenId>> b = buckets.Encode(*text, EncodeMode::kOrdinary);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_GT(a->size(), text->size() / 8);  // merged, but not into nothing
      EXPECT_TRUE(*a == *b) << "the two merge loops disagree";
      // (The SentencePiece-style decoder turns the prepended "▁" back into nothing.)
      EXPECT_TRUE(*t->Decode(*b) == *text) << "no round trip";
    }
  }
}

// A SentencePiece-style vocabulary made by hand: characters, "▁", byte-fallback tokens for two
// bytes, and merges whose results are worked out below.
std::string HandMadeSentencePiece(bool fuse_unk) {
  return absl::StrCat(
      R"({"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},)"
      R"({"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"pre_tokenizer":null,)"
      R"("decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},)"
      R"("content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ",)"
      R"("start":1,"stop":0}]},"added_tokens":[{"id":0,"content":"<unk>","special":true}],)"
      R"("model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":)",
      fuse_unk ? "true" : "false",
      R"(,"vocab":{"<unk>":0,"▁":1,"a":2,"b":3,"c":4,"<0xC3>":5,"<0xA9>":6,"a▁":7,"a▁b":8,)"
      R"("▁c":9,"▁b":10},"merges":[["a","▁"],["a▁","b"],["▁","c"],["▁","b"]]}})");
}

TEST(Tokenizer, SentencePieceStyleModel) {
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromJson(HandMadeSentencePiece(false));
  ASSERT_TRUE(t.ok()) << t.status();
  Encoder encoder(t->get());
  // "a b": normalized "▁a▁b"; merges by rank: (a,▁) → "a▁", then (a▁,b) → "a▁b". A merge result
  // holds "a▁", so the text is not cut before that "▁" (it would give "▁b").
  EXPECT_THAT(*encoder.Encode("a b", EncodeMode::kOrdinary), ElementsAre(1, 8));
  // "c c": "▁c▁c"; "c" never glues to a "▁", so the cut is exact: "▁c" twice.
  EXPECT_THAT(*encoder.Encode("c c", EncodeMode::kOrdinary), ElementsAre(9, 9));
  // "é" is not in the vocabulary: its bytes' fallback tokens; "z" has no byte tokens: unk.
  EXPECT_THAT(*encoder.Encode("é", EncodeMode::kOrdinary), ElementsAre(1, 5, 6));
  EXPECT_THAT(*encoder.Encode("zz", EncodeMode::kOrdinary), ElementsAre(1, 0, 0));
  absl::StatusOr<std::unique_ptr<Tokenizer>> fused =
      Tokenizer::FromJson(HandMadeSentencePiece(true));
  ASSERT_TRUE(fused.ok());
  Encoder fused_encoder(fused->get());
  EXPECT_THAT(*fused_encoder.Encode("zz", EncodeMode::kOrdinary), ElementsAre(1, 0));
  // Decoding: "▁" back to spaces, bytes joined, the first space stripped.
  EXPECT_EQ(*(*t)->Decode({1, 8, 9, 1, 5, 6}), "a b c é");
  EXPECT_EQ(*(*t)->TokenBytes(9), " c");
  EXPECT_EQ(*(*t)->TokenBytes(5), "\xC3");
}

TEST(Tokenizer, AddedTokenIdsFollowHuggingFace) {
  // Hugging Face gives an added token the id of the vocabulary entry with its content, else the
  // next new one, whatever the file says.
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromJson(
      R"({"added_tokens":[{"id":7,"content":"b","special":true},{"id":9,"content":"<x>"}],)"
      R"("model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]}})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ((*t)->AddedTokenId("b"), 1u);
  EXPECT_EQ((*t)->AddedTokenId("<x>"), 2u);
}

TEST(Tokenizer, AHugeTokenIdIsRefusedNotAllocatedFor) {
  // The fuzzer's finding: id 200000000 made the loader allocate one string per id below it
  // (6.4 GB). Ids at or above kTokenIdLimit are refused, in the vocabulary and in added tokens,
  // and an added token's 64-bit id is not narrowed to a small one first.
  auto load = [](const std::string& json) { return Tokenizer::FromJson(json).status(); };
  absl::Status vocab =
      load(R"({"model":{"type":"BPE","vocab":{"a":0,"b":200000000},"merges":[]}})");
  EXPECT_EQ(vocab.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(vocab.message(), HasSubstr("\"b\" has id 200000000"));
  absl::Status added = load(R"({"added_tokens":[{"id":4294967296,"content":"<x>"}],)"
                            R"("model":{"type":"BPE","vocab":{"a":0},"merges":[]}})");
  EXPECT_EQ(added.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(added.message(), HasSubstr("\"<x>\" has id 4294967296"));
  const std::string largest = absl::StrCat(R"({"model":{"type":"BPE","vocab":{"a":0,"b":)",
                                           kTokenIdLimit - 1, R"(},"merges":[]}})");
  absl::StatusOr<std::unique_ptr<Tokenizer>> t = Tokenizer::FromJson(largest);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*(*t)->TokenBytes(kTokenIdLimit - 1), "b");
  absl::Status vocab_json =
      Tokenizer::FromVocabAndMergesText(R"({"a":0,"b":16777216})", "").status();
  EXPECT_THAT(vocab_json.message(), HasSubstr("ids must be below 16777216"));
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
