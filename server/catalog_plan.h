// Plans on one catalog: for a (tokenizer, filters, seq_len), every part the catalog holds —
// its documents in canonical order (files by relative path, lines in order), those the filters
// keep, their token counts and packing. A plan is a pure function of the part's content
// version and those parameters; the seed and the mixture only enter later (stream_plan.h), so
// one CatalogPlan serves every seed and mixture.
//
// Exact deduplication keeps the first copy of a text within its part (in canonical order):
// copies in other partitions or sources are kept, so a part's plan never depends on which other
// partitions a catalog happens to hold. (`stats` counts duplicates across the whole catalog.)
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
#include "server/catalog.h"
#include "server/token_store.h"

namespace shardstream {

// Which documents a plan keeps.
struct DocFilters {
  bool dedup = true;            // keep only the first copy of identical texts (within a part)
  std::string preset = "none";  // a FilterPresets() name (cleaning_rules.h)

  absl::Status Validate() const;  // INVALID_ARGUMENT for an unknown preset
  // Covers dedup and the preset's name, version and every rule's definition; for a preset with
  // near_dedup, also `near_dedup` (NearDedupFingerprint of the catalog's clustering).
  Hash128 Fingerprint(const Hash128* near_dedup = nullptr) const;
  // For a whole-catalog sample (train-tokenizer): duplicates catalog-wide (duplicate_of).
  bool Keeps(const v1::DocRecord& doc) const;
};

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

// One part of one plan: immutable; memory 8 bytes per kept document.
class PartPlan {
 public:
  PartPlan(PartKey key, Hash128 version, std::vector<uint32_t> doc_ids,
           std::shared_ptr<const PartPacking> packing)
      : key_(std::move(key)),
        version_(version),
        doc_ids_(std::move(doc_ids)),
        packing_(std::move(packing)) {}

  const PartKey& key() const { return key_; }
  const Hash128& version() const { return version_; }
  const std::shared_ptr<const PartPacking>& packing() const { return packing_; }
  // Catalog id of the document at packing index i.
  uint64_t doc_id(size_t i) const { return doc_ids_[i]; }
  PartSize size() const;
  size_t MemoryBytes() const {
    return doc_ids_.capacity() * sizeof(uint32_t) + packing_->MemoryBytes();
  }

 private:
  PartKey key_;
  Hash128 version_;
  std::vector<uint32_t> doc_ids_;
  std::shared_ptr<const PartPacking> packing_;
};

// Every part one catalog holds, for one PartPlanSpec. Immutable; borrows the catalog, which
// must outlive it.
class CatalogPlan {
 public:
  // NOT_FOUND for an unknown tokenizer; FAILED_PRECONDITION when its store is incomplete (with
  // its progress), or when the filter drops near duplicates and the catalog's clustering is
  // missing or stale; INVALID_ARGUMENT for a bad spec.
  static absl::StatusOr<std::shared_ptr<const CatalogPlan>> Build(const Catalog* catalog,
                                                                  const PartPlanSpec& spec);

  const Catalog& catalog() const { return *catalog_; }
  const v1::TokenizerRecord& tokenizer() const { return tokenizer_; }
  const Hash128& filters() const { return filters_; }
  uint32_t seq_len() const { return seq_len_; }
  // Parts with documents, by key.
  const std::vector<std::shared_ptr<const PartPlan>>& parts() const { return parts_; }
  // nullptr when this catalog does not hold `key`.
  const PartPlan* Find(const PartKey& key) const;
  // This catalog's answer for a PartDirectory, as `holder`.
  HolderReport Report(const std::string& holder) const;
  size_t MemoryBytes() const;
  // The token pack of a document of the plan's parts, which holds its ids (the plan keeps its
  // packs mapped, so a tokenize that replaces the file does not change what this plan serves);
  // INTERNAL for another document.
  absl::StatusOr<const TokenPack*> PackOf(uint64_t doc_id) const;

 private:
  CatalogPlan() = default;

  const Catalog* catalog_ = nullptr;
  v1::TokenizerRecord tokenizer_;
  Hash128 filters_;
  uint32_t seq_len_ = 0;
  std::vector<uint32_t> held_;
  uint32_t partitions_ = 1;
  std::vector<std::shared_ptr<const PartPlan>> parts_;
  std::vector<std::shared_ptr<const TokenPack>> packs_;  // of the parts' files, by first doc id
  std::vector<uint64_t> pack_firsts_;                    // their first doc ids, searched
};

// The plan parameters a stream over CatalogPlans of `spec` has.
StreamParameters StreamParametersOf(const CatalogPlan& plan, const PlanSpec& spec);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_PLAN_H_
