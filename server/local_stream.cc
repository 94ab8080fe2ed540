#include "server/local_stream.h"

#include "common/part_directory.h"
#include "common/status_macros.h"

namespace shardstream {

absl::StatusOr<std::shared_ptr<const StreamPlan>> PlanOverCatalogs(
    const std::vector<const CatalogPlan*>& plans, const std::vector<std::string>& holders,
    const PlanSpec& spec) {
  std::vector<HolderReport> reports;
  for (size_t i = 0; i < plans.size(); ++i) reports.push_back(plans[i]->Report(holders[i]));
  ASSIGN_OR_RETURN(PartDirectory directory, PartDirectory::Build(std::move(reports)));
  return StreamPlan::Create(StreamParametersOf(*plans.front(), spec), directory.parts());
}

absl::StatusOr<std::unique_ptr<LocalStream>> LocalStream::Open(
    const std::vector<const Catalog*>& catalogs, const PlanSpec& spec,
    const StreamOptions& options, std::vector<std::shared_ptr<const CatalogPlan>> plans,
    LayoutCache* layouts) {
  if (catalogs.empty()) return absl::InvalidArgumentError("no catalog given (--db)");
  RETURN_IF_ERROR(spec.parts.Validate());
  RETURN_IF_ERROR(options.Validate(spec.parts.seq_len));
  auto stream = std::unique_ptr<LocalStream>(new LocalStream());
  if (plans.empty()) {
    for (const Catalog* c : catalogs) {
      ASSIGN_OR_RETURN(std::shared_ptr<const CatalogPlan> plan, CatalogPlan::Build(c, spec.parts));
      plans.push_back(std::move(plan));
    }
  }
  stream->plans_ = std::move(plans);
  std::vector<const CatalogPlan*> raw;
  std::vector<std::string> holders;
  for (const auto& p : stream->plans_) {
    raw.push_back(p.get());
    holders.push_back(p->catalog().dir());
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const StreamPlan> plan, PlanOverCatalogs(raw, holders, spec));
  if (layouts == nullptr) {
    stream->own_layouts_ = std::make_unique<LayoutCache>(2 * plan->parts().size() + 8);
    layouts = stream->own_layouts_.get();
  }
  stream->reader_ = std::make_unique<PartReader>(raw, layouts);
  ASSIGN_OR_RETURN(stream->stream_,
                   BatchStream::Open(std::move(plan), stream->reader_.get(), options));
  return stream;
}

}  // namespace shardstream
