#include "server/plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/cleaning_rules.h"

namespace shardstream {

absl::Status DocFilters::Validate() const {
  if (preset != "none" && preset != "codeparrot-clean") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown filter preset \"", preset, "\"; use none or codeparrot-clean"));
  }
  return absl::OkStatus();
}

Hash128 DocFilters::Fingerprint() const {
  Hasher128 h;
  h.UpdateString("shardstream.filters.v1");
  h.UpdateU64(dedup);
  h.UpdateString(preset);
  return h.Digest();
}

bool DocFilters::Keeps(const v1::DocRecord& doc) const {
  if (dedup && doc.has_duplicate_of()) return false;
  if (preset == "codeparrot-clean") {
    for (const CleaningRule& rule : CleaningRules()) {
      if (InCodeParrotCleanPreset(rule) && rule.drops(doc.quality())) return false;
    }
  }
  return true;
}

absl::Status PlanSpec::Validate() const {
  if (tokenizer.empty()) return absl::InvalidArgumentError("no tokenizer given (--tokenizer)");
  if (seq_len < 1 || seq_len > (1u << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seq_len must be in [1, 1048576], got ", seq_len));
  }
  return filters.Validate();
}

absl::StatusOr<std::shared_ptr<const Plan>> Plan::Build(const Catalog& catalog,
                                                        const TokenStore& store,
                                                        const PlanSpec& spec) {
  RETURN_IF_ERROR(spec.Validate());
  ASSIGN_OR_RETURN(v1::TokenizerRecord tokenizer, store.FindTokenizer(spec.tokenizer));
  // The per-file records (token counts) serve both the completeness check and the plan.
  ASSIGN_OR_RETURN(auto tokenized, store.TokenizedFiles(FingerprintOf(tokenizer)));
  const TokenStoreStatus status = store.Status(tokenizer, tokenized);
  if (!status.complete()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tokenizer \"", tokenizer.name(),
                     "\" is not fully tokenized yet: ", status.files_done, " of ", status.files,
                     " files; run `shardstream tokenize` (with the same tokenizer) first"));
  }
  if (catalog.meta().next_doc_id() > UINT32_MAX) {
    return absl::FailedPreconditionError("plans support catalogs of up to 2^32 document ids");
  }
  auto plan = std::shared_ptr<Plan>(new Plan());
  plan->tokenizer_ = tokenizer;
  plan->identity_.dataset_version = catalog.version();
  plan->identity_.tokenizer = FingerprintOf(tokenizer);
  plan->identity_.filters = spec.filters.Fingerprint();
  plan->identity_.seq_len = spec.seq_len;
  plan->identity_.seed = spec.seed;

  // Token counts come per file (token_files), eligibility per document (docs): walk both in id
  // order.
  std::vector<const v1::TokenizedFile*> files;
  for (const auto& [id, f] : tokenized) {
    if (catalog.files().count(id) != 0) files.push_back(&f);
  }
  std::sort(files.begin(), files.end(), [](const v1::TokenizedFile* a, const v1::TokenizedFile* b) {
    return a->first_doc_id() < b->first_doc_id();
  });
  // Reserve for every document (exact without filters) so the vectors never double.
  size_t docs = 0;
  for (const v1::TokenizedFile* f : files) docs += f->num_docs();
  plan->doc_ids_.reserve(docs);
  plan->counts_.reserve(docs);
  size_t file = 0;
  absl::Status missing;
  RETURN_IF_ERROR(catalog.ForEachDoc([&](uint64_t id, const v1::DocRecord& doc) {
    while (file < files.size() && files[file]->first_doc_id() + files[file]->num_docs() <= id) {
      ++file;
    }
    if (file == files.size() || id < files[file]->first_doc_id()) {
      missing = absl::FailedPreconditionError(absl::StrCat("document ", id, " has no tokens"));
      return false;
    }
    if (!spec.filters.Keeps(doc)) return true;
    const uint32_t count =
        files[file]->token_counts(static_cast<int>(id - files[file]->first_doc_id()));
    plan->doc_ids_.push_back(static_cast<uint32_t>(id));
    plan->counts_.push_back(count);
    plan->epoch_tokens_ += uint64_t{count} + 1;  // + EOS
    return true;
  }));
  RETURN_IF_ERROR(missing);
  if (plan->doc_ids_.empty()) {
    return absl::FailedPreconditionError("no document passes the filters");
  }
  if (plan->doc_ids_.size() < plan->doc_ids_.capacity() * 9 / 10) {  // filters dropped many
    plan->doc_ids_.shrink_to_fit();
    plan->counts_.shrink_to_fit();
  }
  return plan;
}

EpochLayout::EpochLayout(std::shared_ptr<const Plan> plan, uint64_t epoch)
    : plan_(std::move(plan)),
      epoch_(epoch),
      order_(plan_->num_docs(), Mix64(plan_->identity().seed) ^ Mix64(~epoch)) {
  const size_t n = plan_->num_docs();
  starts_.resize(n + 1);
  uint64_t at = 0;
  for (size_t j = 0; j < n; ++j) {
    starts_[j] = at;
    at += uint64_t{plan_->token_count(DocAt(j))} + 1;
  }
  starts_[n] = at;
}

void EpochLayout::Pieces(uint64_t k, std::vector<Piece>* pieces) const {
  pieces->clear();
  const uint64_t len = plan_->seq_len();
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
