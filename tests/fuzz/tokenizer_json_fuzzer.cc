// Tokenizer::FromJson on any bytes: a clear error or a tokenizer, never a crash. A tokenizer
// that loads then encodes and decodes a few texts (ordinary and with added tokens) without
// crashing, and its fingerprint is stable across a second load.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<shardstream::Tokenizer>> t =
      shardstream::Tokenizer::FromJson(json);
  if (!t.ok()) {
    if (t.status().message().empty()) std::abort();  // an error always says what is wrong
    return 0;
  }
  absl::StatusOr<std::unique_ptr<shardstream::Tokenizer>> again =
      shardstream::Tokenizer::FromJson(json);
  if (!again.ok() || (*again)->fingerprint() != (*t)->fingerprint()) std::abort();
  shardstream::Encoder encoder(t->get());
  for (std::string_view text : {"Hello world", "  def f(x):\n\treturn x ** 2  ", "日本語 héllo",
                                "<|endoftext|>a<s></s>", ""}) {
    for (auto mode : {shardstream::EncodeMode::kOrdinary, shardstream::EncodeMode::kWithSpecials}) {
      absl::StatusOr<std::vector<shardstream::TokenId>> ids = encoder.Encode(text, mode);
      if (!ids.ok()) std::abort();  // valid UTF-8 always encodes
      (*t)->Decode(*ids).IgnoreError();
    }
  }
  return 0;
}
