#include "common/part_packing.h"

#include <algorithm>

#include "common/hash128.h"

namespace shardstream {

PartPacking::PartPacking(std::vector<uint32_t> token_counts, uint32_t seq_len)
    : counts_(std::move(token_counts)), seq_len_(std::max<uint32_t>(seq_len, 1)) {
  for (uint32_t c : counts_) epoch_tokens_ += uint64_t{c} + 1;  // + EOS
}

uint64_t PartOrderKey(uint64_t seed, const PartKey& part) {
  Hasher128 h;
  h.UpdateString("shardstream.part-order.v1");
  h.UpdateU64(seed);
  h.UpdateString(part.source);
  h.UpdateU64(part.partition);
  return h.Digest().lo;
}

PartEpochLayout::PartEpochLayout(std::shared_ptr<const PartPacking> packing, uint64_t order_key,
                                 uint64_t epoch)
    : packing_(std::move(packing)),
      epoch_(epoch),
      order_(packing_->num_docs(), Mix64(order_key) ^ Mix64(~epoch)) {
  const size_t n = packing_->num_docs();
  starts_.resize(n + 1);
  uint64_t at = 0;
  for (size_t j = 0; j < n; ++j) {
    starts_[j] = at;
    at += uint64_t{packing_->token_count(DocAt(j))} + 1;
  }
  starts_[n] = at;
}

void PartEpochLayout::Pieces(uint64_t k, std::vector<Piece>* pieces) const {
  pieces->clear();
  const uint64_t len = packing_->seq_len();
  uint64_t pos = k * len;
  const uint64_t end = pos + len;
  // The position holding token `pos`: the last start <= pos.
  size_t j =
      static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos) - starts_.begin()) -
      1;
  while (pos < end) {
    const uint64_t doc_start = starts_[j];
    const uint64_t doc_end = starts_[j + 1];  // includes the EOS
    const uint64_t take_end = std::min(doc_end, end);
    pieces->push_back(Piece{j, static_cast<uint32_t>(pos - doc_start),
                            static_cast<uint32_t>(take_end - doc_start)});
    pos = take_end;
    ++j;
  }
}

}  // namespace shardstream
