// The encoder on any bytes, with GPT-2's tokenizer and the SentencePiece-style test model:
// invalid UTF-8 is refused with INVALID_ARGUMENT; valid UTF-8 encodes, and with GPT-2's
// byte-level model Decode(Encode(x)) == x, in both modes.
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/tokenizer.h"
#include "common/unicode_classes.h"

namespace {

std::string Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[1 << 16];
  int n;
  while (f != nullptr && (n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, n);
  if (f != nullptr) gzclose(f);
  return out;
}

std::unique_ptr<shardstream::Tokenizer> OrDie(
    absl::StatusOr<std::unique_ptr<shardstream::Tokenizer>> t) {
  if (!t.ok()) std::abort();
  return *std::move(t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using shardstream::EncodeMode;
  static auto* gpt2 =
      OrDie(shardstream::Tokenizer::FromJsonFile(SHARDSTREAM_TEST_DATA_DIR "/gpt2/tokenizer.json"))
          .release();
  static auto* sentencepiece =
      OrDie(shardstream::Tokenizer::FromJson(
                Gunzip(SHARDSTREAM_TEST_DATA_DIR "/sentencepiece/tokenizer.json.gz")))
          .release();
  static auto* gpt2_encoder = new shardstream::Encoder(gpt2, /*max_cache_entries=*/256);
  static auto* sp_encoder = new shardstream::Encoder(sentencepiece, /*max_cache_entries=*/256);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool valid = shardstream::FindInvalidUtf8(text) == std::string_view::npos;
  for (auto mode : {EncodeMode::kOrdinary, EncodeMode::kWithSpecials}) {
    absl::StatusOr<std::vector<shardstream::TokenId>> ids = gpt2_encoder->Encode(text, mode);
    if (ids.ok() != valid) std::abort();
    if (!valid) {
      if (!absl::IsInvalidArgument(ids.status())) std::abort();
      continue;
    }
    absl::StatusOr<std::string> back = gpt2->Decode(*ids);
    if (!back.ok() || *back != text) std::abort();
    absl::StatusOr<std::vector<shardstream::TokenId>> sp = sp_encoder->Encode(text, mode);
    if (!sp.ok()) std::abort();
    sentencepiece->Decode(*sp).IgnoreError();
  }
  return 0;
}
