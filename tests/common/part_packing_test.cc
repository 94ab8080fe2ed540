#include "common/part_packing.h"

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// A packing of `n` documents of 0 to 5 tokens (empty ones included).
std::shared_ptr<const PartPacking> RandomPacking(size_t n, uint32_t seq_len) {
  std::mt19937_64 rng(7);
  std::vector<uint32_t> counts(n);
  for (uint32_t& c : counts) c = static_cast<uint32_t>(rng() % 6);
  return std::make_shared<const PartPacking>(std::move(counts), seq_len);
}

// A layout built on several threads (three runs of documents and a remainder) is the one built
// on one, and both are the epoch's permutation of the documents, packed as a naive
// concatenation of (position, token) pairs cut into seq_len windows says — at the seq_len of
// the packing it was built from and at another (layouts are shared across seq_lens).
TEST(PartEpochLayout, IsThePermutationPackedWhateverTheThreads) {
  constexpr uint32_t kSeqLen = 7;
  const size_t n = 3 * PartEpochLayout::kLeastRunDocs + 17;
  const auto packing = RandomPacking(n, kSeqLen);
  const uint64_t key = PartOrderKey(42, PartKey{"src", 0});
  const PartEpochLayout one(*packing, key, /*epoch=*/3, /*threads=*/1);
  const PartEpochLayout four(*packing, key, /*epoch=*/3, /*threads=*/4);

  const Permutation order(n, Mix64(key) ^ Mix64(~uint64_t{3}));
  std::vector<bool> seen(n);
  // The concatenation: for each token of the epoch, its position and index in the document
  // (index == count: the EOS).
  std::vector<std::pair<size_t, uint32_t>> tokens;
  for (size_t j = 0; j < n; ++j) {
    ASSERT_EQ(one.DocAt(j), order.At(j)) << j;
    ASSERT_EQ(four.DocAt(j), one.DocAt(j)) << j;
    ASSERT_FALSE(seen[one.DocAt(j)]);
    seen[one.DocAt(j)] = true;
    ASSERT_EQ(one.CountAt(j), packing->token_count(one.DocAt(j)));
    ASSERT_EQ(four.CountAt(j), one.CountAt(j));
    for (uint32_t t = 0; t <= one.CountAt(j); ++t) tokens.emplace_back(j, t);
  }
  ASSERT_EQ(tokens.size(), packing->epoch_tokens());
  std::vector<PartEpochLayout::Piece> pieces, pieces4;
  for (const uint32_t seq_len : {kSeqLen, 11u}) {
    const PartPacking at_seq_len(packing->shared_counts(), seq_len);
    ASSERT_GT(at_seq_len.sequences_per_epoch(), 1000u);
    for (uint64_t k = 0; k < at_seq_len.sequences_per_epoch(); ++k) {
      one.Pieces(k, seq_len, &pieces);
      four.Pieces(k, seq_len, &pieces4);
      ASSERT_EQ(pieces.size(), pieces4.size());
      size_t at = k * seq_len;
      for (size_t p = 0; p < pieces.size(); ++p) {
        ASSERT_EQ(pieces[p].position, pieces4[p].position);
        ASSERT_EQ(pieces[p].begin, pieces4[p].begin);
        ASSERT_EQ(pieces[p].end, pieces4[p].end);
        for (uint32_t t = pieces[p].begin; t < pieces[p].end; ++t, ++at) {
          ASSERT_EQ(tokens[at], std::make_pair(pieces[p].position, t))
              << "seq_len " << seq_len << " sequence " << k;
        }
      }
      ASSERT_EQ(at, (k + 1) * seq_len);
    }
  }
}

// The pieces of a sequence do not depend on the search hint: none, the last piece of the
// sequence before (how a reader of consecutive sequences passes it), of a sequence further back
// (a rank reading every 64th), a hint past the sequence's first token (a stale one: searched
// over the whole epoch), position 0, the last position and beyond.
TEST(PartEpochLayout, PiecesAreTheSameWhateverTheHint) {
  constexpr uint32_t kSeqLen = 13;
  const size_t n = 20'000;
  const auto packing = RandomPacking(n, kSeqLen);
  const PartEpochLayout layout(*packing, PartOrderKey(5, PartKey{"src", 1}), /*epoch=*/0);
  const uint64_t sequences = packing->sequences_per_epoch();
  ASSERT_GT(sequences, 3000u);
  std::vector<PartEpochLayout::Piece> expected, got;
  std::vector<size_t> last_position(sequences);
  auto same = [&](uint64_t k, size_t hint) {
    layout.Pieces(k, kSeqLen, &got, hint);
    if (got.size() != expected.size()) return false;
    for (size_t p = 0; p < got.size(); ++p) {
      if (got[p].position != expected[p].position || got[p].begin != expected[p].begin ||
          got[p].end != expected[p].end) {
        return false;
      }
    }
    return true;
  };
  std::mt19937_64 rng(3);
  for (uint64_t k = 0; k < sequences; ++k) {
    layout.Pieces(k, kSeqLen, &expected);
    last_position[k] = expected.back().position;
    ASSERT_GT(expected.size(), 0u);
    if (k > 0) ASSERT_TRUE(same(k, last_position[k - 1])) << k;
    if (k >= 64) ASSERT_TRUE(same(k, last_position[k - 64])) << k;
    if (k + 1 < sequences) {
      ASSERT_TRUE(same(k, expected.back().position + 1)) << k;  // past its first token
    }
    for (const size_t hint :
         {size_t{0}, n - 1, n, n + 7, PartEpochLayout::kNoHint, static_cast<size_t>(rng() % n)}) {
      ASSERT_TRUE(same(k, hint)) << k << " hint " << hint;
    }
  }
}

}  // namespace
}  // namespace shardstream
