#include "server/shard_service_logic.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/hash128.h"
#include "common/status_macros.h"
#include "server/server_metrics.h"

namespace shardstream {
namespace {

PartPlanSpec PartPlanSpecOf(const v1::PlanRequest& r) {
  PartPlanSpec spec;
  spec.tokenizer = r.tokenizer();
  spec.seq_len = r.seq_len();
  spec.filters.dedup = !r.no_dedup();
  spec.filters.preset = r.filter_preset().empty() ? "none" : r.filter_preset();
  return spec;
}

v1::PlanRequest PlanRequestOf(const v1::StreamRequest& r) {
  v1::PlanRequest out;
  out.set_tokenizer(r.tokenizer());
  out.set_seq_len(r.seq_len());
  out.set_no_dedup(r.no_dedup());
  out.set_filter_preset(r.filter_preset());
  return out;
}

}  // namespace

absl::Status ServerLimits::Validate() const {
  if (max_streams < 1) return absl::InvalidArgumentError("--max-streams must be at least 1");
  if (max_seq_len < 1 || max_batch_tokens < 1) {
    return absl::InvalidArgumentError("limits must be positive");
  }
  return absl::OkStatus();
}

ShardServiceLogic::ShardServiceLogic(const Catalog* catalog, ServerLimits limits,
                                     std::shared_ptr<StreamSlots> slots, ServerMetrics* metrics)
    : catalog_(catalog),
      limits_(limits),
      slots_(slots != nullptr ? std::move(slots) : std::make_shared<StreamSlots>(limits.max_streams)),
      metrics_(metrics) {
  for (const PartFiles& part : catalog_->Parts()) {
    part_versions_.insert({part.key.source, part.key.partition, part.version});
  }
}

ShardServiceLogic::ShardServiceLogic(std::shared_ptr<const Catalog> catalog, ServerLimits limits,
                                     std::shared_ptr<StreamSlots> slots, ServerMetrics* metrics)
    : ShardServiceLogic(catalog.get(), limits, std::move(slots), metrics) {
  owned_catalog_ = std::move(catalog);
}

bool ShardServiceLogic::HoldsPartVersion(const v1::SequencesRequest& request) const {
  return part_versions_.count({request.source(), request.partition(),
                               Hash128{request.version_hi(), request.version_lo()}}) > 0;
}

absl::StatusOr<v1::GetInfoResponse> ShardServiceLogic::GetInfo() const {
  v1::GetInfoResponse out;
  out.set_server_version(kShardstreamVersion);
  out.set_dataset_version(catalog_->version().ToHex());
  out.set_text_field(catalog_->meta().text_field());
  for (const auto& [id, file] : catalog_->files()) {
    out.set_files(out.files() + 1);
    out.set_docs(out.docs() + file.num_docs());
  }
  TokenStore store(catalog_);
  ASSIGN_OR_RETURN(std::vector<v1::TokenizerRecord> tokenizers, store.ListTokenizers());
  for (const v1::TokenizerRecord& t : tokenizers) {
    ASSIGN_OR_RETURN(TokenStoreStatus s, store.Status(t));
    v1::TokenizerInfo* info = out.add_tokenizers();
    info->set_name(t.name());
    info->set_fingerprint(FingerprintOf(t).ToHex());
    info->set_vocab_size(t.vocab_size());
    info->set_eos_id(t.eos_id());
    info->set_docs(s.docs);
    info->set_tokens(s.tokens);
    info->set_ready(s.complete());
    info->set_files_done(s.files_done);
    info->set_files(s.files);
  }
  out.set_max_streams(slots_->max());
  out.set_active_streams(slots_->active());
  out.set_max_seq_len(limits_.max_seq_len);
  out.set_max_batch_tokens(limits_.max_batch_tokens);
  out.set_partitions(catalog_->partitions());
  for (uint32_t p : catalog_->owned_partitions()) out.add_held_partitions(p);
  for (const PartFiles& part : catalog_->Parts()) {
    v1::PartInfo* info = out.add_parts();
    info->set_source(part.key.source);
    info->set_partition(part.key.partition);
    info->set_version(part.version.ToHex());
    info->set_files(part.files.size());
    info->set_docs(part.docs);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const CatalogPlan>> ShardServiceLogic::SharedPlan(
    const v1::PlanRequest& request) {
  const PartPlanSpec spec = PartPlanSpecOf(request);
  RETURN_IF_ERROR(spec.Validate());
  if (spec.seq_len > limits_.max_seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seq_len ", spec.seq_len, " is above this server's limit ", limits_.max_seq_len));
  }
  // A burst of requests for a new plan builds it once (the others wait and share it, or its
  // error); different plans build at the same time. Plans of one (tokenizer, filters) share
  // one selection, so a plan for another seq_len reads no record.
  const std::string selection_key =
      absl::StrCat(spec.tokenizer, "\n", spec.filters.dedup, "\n", spec.filters.preset);
  return plans_.GetOrBuild(absl::StrCat(selection_key, "\n", spec.seq_len), [&] {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::shared_ptr<const CatalogSelection>> selection = selections_.GetOrBuild(
        selection_key,
        [&] { return CatalogSelection::Build(catalog_, spec.tokenizer, spec.filters); });
    absl::StatusOr<std::shared_ptr<const CatalogPlan>> plan =
        selection.ok() ? CatalogPlan::Of(*std::move(selection), spec.seq_len)
                       : absl::StatusOr<std::shared_ptr<const CatalogPlan>>(selection.status());
    plans_built_.fetch_add(1);
    if (plan.ok() && metrics_ != nullptr) metrics_->PlanBuilt(absl::Now() - start);
    return plan;
  });
}

absl::StatusOr<v1::TokenDtype> ShardServiceLogic::ResolveDtype(
    v1::TokenDtype requested, const v1::TokenizerRecord& tokenizer) {
  if (!v1::TokenDtype_IsValid(requested)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", requested));
  }
  const bool fits_16 = tokenizer.vocab_size() <= 65536;
  if (requested == v1::TOKEN_DTYPE_UNSPECIFIED) {
    return fits_16 ? v1::TOKEN_DTYPE_UINT16 : v1::TOKEN_DTYPE_INT32;
  }
  if (requested == v1::TOKEN_DTYPE_UINT16 && !fits_16) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype UINT16 cannot hold the ids of tokenizer \"", tokenizer.name(), "\" (",
                     tokenizer.vocab_size(), " ids); ask for INT32"));
  }
  return requested;
}

absl::StatusOr<v1::PlanResponse> ShardServiceLogic::GetPlan(const v1::PlanRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const CatalogPlan> plan, SharedPlan(request));
  v1::PlanResponse out;
  const v1::TokenizerRecord& t = plan->tokenizer();
  out.set_tokenizer_name(t.name());
  out.set_tokenizer_hi(t.fingerprint_hi());
  out.set_tokenizer_lo(t.fingerprint_lo());
  out.set_vocab_size(t.vocab_size());
  out.set_eos_id(t.eos_id());
  out.set_token_bytes(t.token_bytes());
  out.set_filters_hi(plan->filters().hi);
  out.set_filters_lo(plan->filters().lo);
  out.set_partitions(catalog_->partitions());
  for (uint32_t p : catalog_->owned_partitions()) out.add_held_partitions(p);
  for (const auto& part : plan->parts()) {
    const PartSize size = part->size();
    v1::PlanPart* p = out.add_parts();
    p->set_source(size.key.source);
    p->set_partition(size.key.partition);
    p->set_version_hi(size.version.hi);
    p->set_version_lo(size.version.lo);
    p->set_docs(size.docs);
    p->set_tokens(size.tokens);
    p->set_sequences(size.sequences);
  }
  out.set_max_batch_tokens(limits_.max_batch_tokens);
  return out;
}

absl::StatusOr<v1::SequencesResponse> ShardServiceLogic::ReadSequences(
    const v1::SequencesRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const CatalogPlan> plan, SharedPlan(request.plan()));
  const uint32_t seq_len = plan->seq_len();
  uint64_t sequences = 0;
  for (const v1::SequenceRun& run : request.runs()) {
    if (run.count() < 1) return absl::InvalidArgumentError("a sequence run has count 0");
    sequences += run.count();
  }
  if (sequences == 0) return absl::InvalidArgumentError("no sequence requested");
  if (sequences * seq_len > limits_.max_batch_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat(sequences, " sequences of ", seq_len, " tokens are above this server's limit ",
                     limits_.max_batch_tokens, " tokens per response; ask for fewer at a time"));
  }
  const PartKey key{request.source(), request.partition()};
  const PartPlan* part = plan->Find(key);
  if (part == nullptr) {
    const std::vector<uint32_t> held = catalog_->owned_partitions();
    const bool holds_partition = key.partition < catalog_->partitions() &&
                                 std::binary_search(held.begin(), held.end(), key.partition);
    return absl::NotFoundError(absl::StrCat(
        "this server does not hold part ", key.ToString().substr(0, 80),
        holds_partition ? " (its partition has no such source with documents in this plan)"
                        : absl::StrCat(" (it holds partitions ",
                                       FormatPartitionSet(held, catalog_->partitions()), " of ",
                                       catalog_->partitions(), "); ask a server that holds it")));
  }
  if (part->version() != Hash128{request.version_hi(), request.version_lo()}) {
    return absl::FailedPreconditionError(
        absl::StrCat("part ", key.ToString(), " is at version ",
                     part->version().ToHex().substr(0, 8), " here, not the requested ",
                     Hash128{request.version_hi(), request.version_lo()}.ToHex().substr(0, 8),
                     "; the data changed: restart the stream (GetPlan) to read the new version"));
  }
  ASSIGN_OR_RETURN(v1::TokenDtype dtype, ResolveDtype(request.dtype(), plan->tokenizer()));
  const uint32_t width = dtype == v1::TOKEN_DTYPE_UINT16 ? 2 : 4;
  const uint64_t per_epoch = part->packing()->sequences_per_epoch();
  for (const v1::SequenceRun& run : request.runs()) {
    if (run.first() >= per_epoch || run.count() > per_epoch - run.first()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequences [", run.first(), ", ", run.first() + run.count(), ") of part ",
                       key.ToString(), " are out of range: it has ", per_epoch, " per epoch"));
    }
  }
  v1::SequencesResponse out;
  out.set_dtype(dtype);
  out.set_sequences(static_cast<uint32_t>(sequences));
  out.set_seq_len(seq_len);
  std::string* tokens = out.mutable_tokens();
  tokens->resize(sequences * seq_len * width);
  PartReader reader({plan.get()}, &layouts_);
  std::vector<uint32_t> starts;
  size_t row = 0;
  for (const v1::SequenceRun& run : request.runs()) {
    for (uint64_t s = run.first(); s < run.first() + run.count(); ++s, ++row) {
      SequenceOut sink;
      sink.bytes = reinterpret_cast<uint8_t*>(tokens->data()) + row * seq_len * width;
      sink.width = width;
      starts.clear();
      sink.doc_starts = request.doc_boundaries() ? &starts : nullptr;
      RETURN_IF_ERROR(reader.ReadPartSequence(*plan, *part, request.seed(), run.epoch(), s, sink));
      if (request.doc_boundaries()) {
        out.add_doc_starts()->mutable_offsets()->Add(starts.begin(), starts.end());
      }
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<ServedStream>> ShardServiceLogic::OpenStream(
    const v1::StreamRequest& request) {
  PlanSpec spec;
  spec.parts = PartPlanSpecOf(PlanRequestOf(request));
  spec.seed = request.seed();
  ASSIGN_OR_RETURN(spec.mixture, Mixture::Parse(request.mix()));
  StreamOptions options;
  options.rank.rank = request.rank();
  options.rank.world_size = request.world_size() == 0 ? 1 : request.world_size();
  options.rank.batch_size = request.batch_size();
  options.rank.epochs = request.epochs();
  options.resume_cursor = request.start_cursor();
  options.doc_boundaries = request.doc_boundaries();
  RETURN_IF_ERROR(spec.parts.Validate());
  RETURN_IF_ERROR(options.Validate(spec.parts.seq_len));
  if (request.seq_len() > limits_.max_seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seq_len ", request.seq_len(), " is above this server's limit ", limits_.max_seq_len));
  }
  if (uint64_t{request.batch_size()} * request.seq_len() > limits_.max_batch_tokens) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size × seq_len = ", uint64_t{request.batch_size()} * request.seq_len(),
                     " tokens is above this server's limit ", limits_.max_batch_tokens,
                     "; use smaller batches"));
  }
  if (!v1::TokenDtype_IsValid(request.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown dtype ", request.dtype()));
  }
  // Take a slot first, so a burst of requests cannot build plans past the limit.
  // The message's start is what clients retry on (client/server_set.h kStreamLimitMessage).
  if (!slots_->TryTake()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this server already serves ", slots_->max(),
                     " streams (--max-streams); retry later or use another server"));
  }
  auto release = [this](void*) { slots_->Release(); };
  std::unique_ptr<void, decltype(release)> slot(this, release);
  ASSIGN_OR_RETURN(std::shared_ptr<const CatalogPlan> plan, SharedPlan(PlanRequestOf(request)));
  ASSIGN_OR_RETURN(v1::TokenDtype dtype, ResolveDtype(request.dtype(), plan->tokenizer()));
  options.packed_bytes = dtype == v1::TOKEN_DTYPE_UINT16 ? 2 : 4;
  const std::vector<uint32_t> held = catalog_->owned_partitions();
  if (held.size() != catalog_->partitions()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this server holds partitions ", FormatPartitionSet(held, catalog_->partitions()), " of ",
        catalog_->partitions(),
        "; StreamBatches needs all of them: read with a client given every server's address "
        "(it assembles batches from ReadSequences)"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LocalStream> stream,
                   LocalStream::Open({catalog_}, spec, options, {plan}, &layouts_));
  // The stream's job: the ranks of one training job read the same plan (its identity has the
  // seed) in global batches of the same shape, from the same epoch on.
  std::unique_ptr<StreamPacer::Member> pace;
  const std::optional<uint64_t> first_epoch = stream->stream().next_epoch();
  if (limits_.pace_jobs && first_epoch.has_value()) {
    Hasher128 job;
    job.UpdateString("shardstream.job.v1");
    job.UpdateHash(stream->plan().identity().Fingerprint());
    job.UpdateU64(options.rank.world_size);
    job.UpdateU64(options.rank.batch_size);
    pace = pacer_.Join(job.Digest(), *first_epoch);
  }
  slot.release();  // the ServedStream gives the slot back
  return std::unique_ptr<ServedStream>(
      new ServedStream(this, std::move(stream), dtype, std::move(pace)));
}

ServedStream::~ServedStream() { owner_->slots_->Release(); }

absl::StatusOr<bool> ServedStream::Next(v1::Batch* batch) {
  ASSIGN_OR_RETURN(bool more, stream_->Next(&scratch_));
  if (!more) return false;
  if (pace_ != nullptr) {
    const absl::Duration waited = pace_->Made(scratch_.epoch);
    if (waited > absl::ZeroDuration() && owner_->metrics_ != nullptr) {
      owner_->metrics_->StreamPaced(waited);
    }
  }
  // The packed ids were written in the requested dtype; swapping buffers gives the previous
  // batch's, whole, to the next (BatchStream writes every byte of it: nothing to zero first).
  std::string previous;
  previous.swap(*batch->mutable_tokens());
  batch->Clear();
  batch->mutable_tokens()->swap(scratch_.packed);
  scratch_.packed.swap(previous);
  batch->set_dtype(dtype_);
  batch->set_rows(scratch_.rows);
  batch->set_seq_len(scratch_.seq_len);
  batch->set_epoch(scratch_.epoch);
  batch->set_step(scratch_.step);
  batch->set_rank(scratch_.rank);
  batch->set_cursor(scratch_.cursor);
  for (const std::vector<uint32_t>& row : scratch_.doc_starts) {
    batch->add_doc_starts()->mutable_offsets()->Add(row.begin(), row.end());
  }
  return true;
}

absl::StatusOr<v1::DecodeResponse> ShardServiceLogic::Decode(
    const v1::DecodeRequest& request) const {
  ASSIGN_OR_RETURN(v1::TokenizerRecord record,
                   TokenStore(catalog_).FindTokenizer(request.tokenizer()));
  std::shared_ptr<const Tokenizer> tokenizer;
  {
    absl::MutexLock lock(&decoders_mu_);
    auto it = decoders_.find(record.name());
    if (it != decoders_.end()) tokenizer = it->second;
  }
  if (tokenizer == nullptr) {
    ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> loaded, TokenStore::LoadTokenizer(record));
    tokenizer = std::move(loaded);
    absl::MutexLock lock(&decoders_mu_);
    decoders_[record.name()] = tokenizer;
  }
  ASSIGN_OR_RETURN(std::string text,
                   tokenizer->Decode({request.ids().begin(), request.ids().end()}));
  v1::DecodeResponse out;
  out.set_text(std::move(text));
  return out;
}

}  // namespace shardstream
