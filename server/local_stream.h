// The stream of local catalogs: `shardstream stream --db D1 [--db D2 ...]` and the server's
// StreamBatches. The catalogs' parts are checked and joined exactly as the remote client joins
// servers (PartDirectory), so any set of catalogs that together hold every partition gives the
// stream of the single catalog holding everything.
#ifndef SHARDSTREAM_SERVER_LOCAL_STREAM_H_
#define SHARDSTREAM_SERVER_LOCAL_STREAM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/batch_stream.h"
#include "server/catalog_plan.h"
#include "server/layout_cache.h"
#include "server/part_reader.h"

namespace shardstream {

// The stream plan over `plans` (each labelled by `holders[i]` in messages): FAILED_PRECONDITION
// when they disagree or miss a partition, as PartDirectory::Build says.
absl::StatusOr<std::shared_ptr<const StreamPlan>> PlanOverCatalogs(
    const std::vector<const CatalogPlan*>& plans, const std::vector<std::string>& holders,
    const PlanSpec& spec);

// Not thread-safe; one per consumer.
class LocalStream {
 public:
  // `catalogs` (open; read-only is enough) are borrowed for the stream's lifetime; `plans`, if
  // given, are their CatalogPlans for spec.parts (shared with others), else built here.
  // `layouts` may be null (a private cache). INVALID_ARGUMENT / NOT_FOUND /
  // FAILED_PRECONDITION as CatalogPlan::Build, PlanOverCatalogs and RankSchedule say.
  static absl::StatusOr<std::unique_ptr<LocalStream>> Open(
      const std::vector<const Catalog*>& catalogs, const PlanSpec& spec,
      const StreamOptions& options,
      std::vector<std::shared_ptr<const CatalogPlan>> plans = {}, LayoutCache* layouts = nullptr);

  absl::StatusOr<bool> Next(Batch* batch) { return stream_->Next(batch); }
  const BatchStream& stream() const { return *stream_; }
  const StreamPlan& plan() const { return stream_->plan(); }
  const v1::TokenizerRecord& tokenizer() const { return plans_.front()->tokenizer(); }

 private:
  LocalStream() = default;
  std::vector<std::shared_ptr<const CatalogPlan>> plans_;
  std::unique_ptr<LayoutCache> own_layouts_;
  std::unique_ptr<PartReader> reader_;
  std::unique_ptr<BatchStream> stream_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_LOCAL_STREAM_H_
