// Pre-tokenization: splitting text into the pieces BPE encodes one by one, exactly as the
// regexes of Hugging Face tokenizers do. Two patterns are implemented by hand (no regex engine):
//
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//            (the ByteLevel pre-tokenizer's own regex; GPT-2, CodeParrot, RoBERTa, ...)
//   kCl100k: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//            (Split pre-tokenizer of cl100k_base-style tokenizers such as Llama 3)
//   kQwen2:  the cl100k regex with \p{N} for \p{N}{1,3}: digits one by one (Qwen2, Qwen2.5,
//            Qwen3)
//
// Any other regex runs through the general engine (common/pre_tokenizer_sequence.h).
#ifndef SHARDSTREAM_COMMON_PRE_TOKENIZER_H_
#define SHARDSTREAM_COMMON_PRE_TOKENIZER_H_

#include <optional>
#include <string_view>
#include <vector>

namespace shardstream {

enum class SplitPattern { kGpt2, kCl100k, kQwen2 };

// The regex source of each pattern, as tokenizer.json writes it.
std::string_view SplitPatternRegex(SplitPattern pattern);
// The pattern whose regex source is `regex`, or nullopt when it is none of the implemented ones.
std::optional<SplitPattern> SplitPatternFromRegex(std::string_view regex);

// Appends the pieces of `text` (valid UTF-8) to `pieces`, in order; together they cover `text`.
// Thread-safe.
void PreTokenize(SplitPattern pattern, std::string_view text,
                 std::vector<std::string_view>* pieces);

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_PRE_TOKENIZER_H_
