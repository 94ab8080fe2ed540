// Reads packed sequences of parts from the token stores of one or more catalogs: the
// SequenceSource of the embedded stream and of the server's StreamBatches and ReadSequences.
#ifndef SHARDSTREAM_SERVER_PART_READER_H_
#define SHARDSTREAM_SERVER_PART_READER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/batch_stream.h"
#include "server/catalog_plan.h"
#include "server/layout_cache.h"
#include "server/token_store.h"

namespace shardstream {

// Not thread-safe; one per stream or call. Keeps, for each part, its current epoch layout:
// memory of one layout per part read. Documents are read in place from the plans' token packs.
class PartReader : public SequenceSource {
 public:
  // `plans` (a part is read from the first that holds it) and `layouts` are borrowed for the
  // reader's lifetime.
  PartReader(std::vector<const CatalogPlan*> plans, LayoutCache* layouts);

  // FAILED_PRECONDITION when no plan holds the part in the stream plan's version.
  absl::Status ReadSequence(const StreamPlan& plan, const StreamPlan::Row& row,
                            const SequenceOut& out) override;
  // Sequence `sequence` of epoch `part_epoch` of `part` (held by `owner`) with `seed`.
  absl::Status ReadPartSequence(const CatalogPlan& owner, const PartPlan& part, uint64_t seed,
                                uint64_t part_epoch, uint64_t sequence, const SequenceOut& out);

 private:
  struct Held {
    const CatalogPlan* owner;
    const PartPlan* part;
  };

  const std::vector<const CatalogPlan*> plans_;
  LayoutCache* const layouts_;
  // Resolution of the current stream plan's parts (rebuilt when the plan changes).
  const StreamPlan* resolved_for_ = nullptr;
  std::vector<Held> resolved_;
  // The order key of the part and seed last read.
  struct {
    const PartPlan* part = nullptr;
    uint64_t seed = 0;
    uint64_t key = 0;
  } order_key_of_;
  // The layout each part is in, by (part, order key), and where its last sequence read ended
  // (PartEpochLayout::Pieces' hint).
  struct Current {
    std::shared_ptr<const PartEpochLayout> layout;
    size_t hint = PartEpochLayout::kNoHint;
  };
  std::map<std::pair<const PartPlan*, uint64_t>, Current> current_;
  std::vector<PartEpochLayout::Piece> pieces_;
  // What the current sequence reads of each piece's document.
  struct DocRead {
    size_t index = 0;  // in the part's packing
    uint32_t count = 0;
    const char* tokens = nullptr;  // its packed ids
  };
  std::vector<DocRead> docs_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_PART_READER_H_
