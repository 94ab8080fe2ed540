// Plans on one catalog: for a (tokenizer, filters, seq_len), every part the catalog holds —
// the documents its selection keeps (catalog_selection.h), packed in seq_len windows. A plan
// is a pure function of the parts' content versions and those parameters; the seed and the
// mixture only enter later (stream_plan.h), so one CatalogPlan serves every seed and mixture,
// and the plans of one (tokenizer, filters) share one selection.
#ifndef SHARDSTREAM_SERVER_CATALOG_PLAN_H_
#define SHARDSTREAM_SERVER_CATALOG_PLAN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/mixture.h"
#include "common/part_directory.h"
#include "common/part_packing.h"
#include "common/stream_plan.h"
#include "server/catalog_selection.h"

namespace shardstream {

// What a part's plan is a function of (besides its content).
struct PartPlanSpec {
  std::string tokenizer;  // name or fingerprint prefix of a tokenized tokenizer
  DocFilters filters;
  uint32_t seq_len = 1024;  // tokens per sequence, in [1, 1,048,576]

  absl::Status Validate() const;
};

// A stream's plan: the part plans plus the seed and mixture.
struct PlanSpec {
  PartPlanSpec parts;
  uint64_t seed = 0;
  Mixture mixture;
};

// One part of one plan: its selection, packed in seq_len windows. Immutable; memory: the
// selection's (shared).
class PartPlan {
 public:
  PartPlan(std::shared_ptr<const PartSelection> selection,
           std::shared_ptr<const PartPacking> packing)
      : selection_(std::move(selection)), packing_(std::move(packing)) {}

  const PartKey& key() const { return selection_->key; }
  const Hash128& version() const { return selection_->version; }
  const std::shared_ptr<const PartPacking>& packing() const { return packing_; }
  // Catalog id of the document at packing index i.
  uint64_t doc_id(size_t i) const { return selection_->doc_id(i); }
  // Where its packed ids start (PartSelection::tokens).
  const char* tokens(size_t i) const { return selection_->tokens[i]; }
  // Asks the CPU to load tokens(i), so that the reads of many documents overlap.
  void PrefetchTokens(size_t i) const { __builtin_prefetch(&selection_->tokens[i]); }
  PartSize size() const;

 private:
  std::shared_ptr<const PartSelection> selection_;
  std::shared_ptr<const PartPacking> packing_;
};

// Every part one catalog holds, for one PartPlanSpec: a CatalogSelection and a seq_len.
// Immutable; borrows the catalog, which must outlive it.
class CatalogPlan {
 public:
  // The errors of CatalogSelection::Build; INVALID_ARGUMENT for a bad spec.
  static absl::StatusOr<std::shared_ptr<const CatalogPlan>> Build(const Catalog* catalog,
                                                                  const PartPlanSpec& spec);
  // The plan of `selection` at `seq_len` (in [1, 1,048,576]): no record is read, and the
  // plans of one selection share its documents and counts.
  static std::shared_ptr<const CatalogPlan> Of(std::shared_ptr<const CatalogSelection> selection,
                                               uint32_t seq_len);

  const std::shared_ptr<const CatalogSelection>& selection() const { return selection_; }
  const Catalog& catalog() const { return selection_->catalog(); }
  const v1::TokenizerRecord& tokenizer() const { return selection_->tokenizer(); }
  const Hash128& filters() const { return selection_->filters(); }
  uint32_t seq_len() const { return seq_len_; }
  // Parts with documents, by key.
  const std::vector<std::shared_ptr<const PartPlan>>& parts() const { return parts_; }
  // nullptr when this catalog does not hold `key`.
  const PartPlan* Find(const PartKey& key) const;
  // This catalog's answer for a PartDirectory, as `holder`.
  HolderReport Report(const std::string& holder) const;

 private:
  CatalogPlan() = default;

  std::shared_ptr<const CatalogSelection> selection_;
  uint32_t seq_len_ = 0;
  std::vector<std::shared_ptr<const PartPlan>> parts_;
};

// The plan parameters a stream over CatalogPlans of `spec` has.
StreamParameters StreamParametersOf(const CatalogPlan& plan, const PlanSpec& spec);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_PLAN_H_
