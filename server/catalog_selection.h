// What a (tokenizer, filters) keeps of one catalog: for every part the catalog holds, its kept
// documents in canonical order (files by relative path, lines in order) with their token
// counts, and where their ids are in the token packs. A pure function of the parts' content
// versions and those parameters; seq_len, the seed and the mixture only enter later
// (catalog_plan.h, stream_plan.h), so one selection serves the plans of every seq_len, and a
// server keeps one copy of it however many of them it keeps.
//
// Exact deduplication keeps the first copy of a text within its part (in canonical order):
// copies in other partitions or sources are kept, so a part's selection never depends on which
// other partitions a catalog happens to hold. (`stats` counts duplicates across the whole
// catalog.)
#ifndef SHARDSTREAM_SERVER_CATALOG_SELECTION_H_
#define SHARDSTREAM_SERVER_CATALOG_SELECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash128.h"
#include "common/huge_pages.h"
#include "common/part_key.h"
#include "server/catalog.h"
#include "server/token_store.h"

namespace shardstream {

// Which documents a selection keeps.
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

// The documents one part keeps, in canonical order. Immutable; memory 12 bytes per kept
// document, and 8 per run of consecutive catalog ids.
struct PartSelection {
  PartKey key;
  Hash128 version;
  // Where each document's packed ids start, in one of `packs` (its count × the tokenizer's
  // token bytes long, checked when selected): a reader goes straight to a document's ids,
  // with no id or pack offsets to look up on the way.
  HugePageVector<const char*> tokens;
  std::shared_ptr<const std::vector<uint32_t>> counts;  // their token counts (EOS excluded)
  // The catalog ids: at each (index, id) a run of consecutive ids starts.
  struct IdRun {
    uint32_t index;
    uint32_t id;
  };
  std::vector<IdRun> id_runs;
  // The packs of the part's files, kept mapped: a tokenize that replaces a file does not
  // change what the selection's plans serve.
  std::vector<std::shared_ptr<const TokenPack>> packs;

  // Catalog id of document i.
  uint64_t doc_id(size_t i) const;
};

// Every part one catalog holds, for one (tokenizer, filters). Immutable; borrows the catalog,
// which must outlive it.
class CatalogSelection {
 public:
  // NOT_FOUND for an unknown tokenizer (PartPlanSpec::Validate names a missing one);
  // FAILED_PRECONDITION when its store is incomplete (with its progress), or when the filter
  // drops near duplicates and the catalog's clustering is missing or stale; DATA_LOSS when a
  // pack's ids do not match the token counts; INVALID_ARGUMENT for unknown filters.
  static absl::StatusOr<std::shared_ptr<const CatalogSelection>> Build(const Catalog* catalog,
                                                                       const std::string& tokenizer,
                                                                       const DocFilters& filters);

  const Catalog& catalog() const { return *catalog_; }
  const v1::TokenizerRecord& tokenizer() const { return tokenizer_; }
  const Hash128& filters() const { return filters_; }
  // The catalog's partitions and those it holds.
  uint32_t partitions() const { return partitions_; }
  const std::vector<uint32_t>& held() const { return held_; }
  // Parts with documents, by key.
  const std::vector<std::shared_ptr<const PartSelection>>& parts() const { return parts_; }
  // Of the parts' documents.
  size_t MemoryBytes() const;

 private:
  CatalogSelection() = default;

  const Catalog* catalog_ = nullptr;
  v1::TokenizerRecord tokenizer_;
  Hash128 filters_;
  std::vector<uint32_t> held_;
  uint32_t partitions_ = 1;
  std::vector<std::shared_ptr<const PartSelection>> parts_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_SELECTION_H_
