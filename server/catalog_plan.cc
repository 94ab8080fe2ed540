#include "server/catalog_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status PartPlanSpec::Validate() const {
  if (tokenizer.empty()) return absl::InvalidArgumentError("no tokenizer given (--tokenizer)");
  if (seq_len < 1 || seq_len > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seq_len must be in [1, 1048576], got ", seq_len));
  }
  return filters.Validate();
}

PartSize PartPlan::size() const {
  return PartSize{key(), version(), packing_->num_docs(), packing_->epoch_tokens(),
                  packing_->sequences_per_epoch()};
}

absl::StatusOr<std::shared_ptr<const CatalogPlan>> CatalogPlan::Build(const Catalog* catalog,
                                                                      const PartPlanSpec& spec) {
  RETURN_IF_ERROR(spec.Validate());
  ASSIGN_OR_RETURN(std::shared_ptr<const CatalogSelection> selection,
                   CatalogSelection::Build(catalog, spec.tokenizer, spec.filters));
  return Of(std::move(selection), spec.seq_len);
}

std::shared_ptr<const CatalogPlan> CatalogPlan::Of(
    std::shared_ptr<const CatalogSelection> selection, uint32_t seq_len) {
  auto plan = std::shared_ptr<CatalogPlan>(new CatalogPlan());
  plan->seq_len_ = seq_len;
  for (const auto& part : selection->parts()) {
    plan->parts_.push_back(std::make_shared<const PartPlan>(
        part, std::make_shared<const PartPacking>(part->counts, seq_len)));
  }
  plan->selection_ = std::move(selection);
  return plan;
}

const PartPlan* CatalogPlan::Find(const PartKey& key) const {
  auto it = std::lower_bound(
      parts_.begin(), parts_.end(), key,
      [](const std::shared_ptr<const PartPlan>& p, const PartKey& k) { return p->key() < k; });
  return it != parts_.end() && (*it)->key() == key ? it->get() : nullptr;
}

HolderReport CatalogPlan::Report(const std::string& holder) const {
  HolderReport r;
  r.holder = holder;
  r.partitions = selection_->partitions();
  r.held = selection_->held();
  for (const auto& part : parts_) r.parts.push_back(part->size());
  const v1::TokenizerRecord& tokenizer = selection_->tokenizer();
  r.tokenizer = FingerprintOf(tokenizer);
  r.token_bytes = tokenizer.token_bytes();
  r.eos_id = tokenizer.eos_id();
  r.vocab_size = tokenizer.vocab_size();
  return r;
}

StreamParameters StreamParametersOf(const CatalogPlan& plan, const PlanSpec& spec) {
  StreamParameters p;
  p.tokenizer = FingerprintOf(plan.tokenizer());
  p.filters = plan.filters();
  p.seq_len = plan.seq_len();
  p.seed = spec.seed;
  p.partitions = plan.catalog().partitions();
  p.mixture = spec.mixture;
  return p;
}

}  // namespace shardstream
