#include "server/shard_service_logic.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace shardstream {

absl::Status ServerLimits::Validate() const {
  if (max_streams < 1) return absl::InvalidArgumentError("--max-streams must be at least 1");
  if (max_seq_len < 1 || max_batch_tokens < 1) {
    return absl::InvalidArgumentError("limits must be positive");
  }
  return absl::OkStatus();
}

// Moves `item` to the front of `recent`, keeping at most kRecent entries.
template <typename T>
void ShardServiceLogic::Remember(const std::shared_ptr<T>& item,
                                 std::deque<std::shared_ptr<T>>* recent) {
  auto it = std::find(recent->begin(), recent->end(), item);
  if (it != recent->end()) recent->erase(it);
  recent->push_front(item);
  if (recent->size() > kRecent) recent->pop_back();
}

ShardServiceLogic::ShardServiceLogic(const Catalog* catalog, ServerLimits limits)
    : catalog_(catalog), limits_(limits) {}

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
  out.set_max_streams(limits_.max_streams);
  out.set_active_streams(active_.load());
  out.set_max_seq_len(limits_.max_seq_len);
  out.set_max_batch_tokens(limits_.max_batch_tokens);
  return out;
}

absl::StatusOr<std::shared_ptr<const Plan>> ShardServiceLogic::SharedPlan(const PlanSpec& spec) {
  const std::string key = absl::StrCat(spec.tokenizer, "\n", spec.filters.dedup, "\n",
                                       spec.filters.preset, "\n", spec.seq_len, "\n", spec.seed);
  auto cached = [&]() -> std::shared_ptr<const Plan> {
    absl::MutexLock lock(&mu_);
    auto it = plans_.find(key);
    std::shared_ptr<const Plan> plan = it == plans_.end() ? nullptr : it->second.lock();
    if (plan != nullptr) Remember(plan, &recent_plans_);
    return plan;
  };
  if (auto plan = cached()) return plan;
  // One build at a time: a burst of requests for a new plan builds it once (the others wait
  // and share it) instead of holding many copies of the build's working memory.
  absl::MutexLock build_lock(&build_mu_);
  if (auto plan = cached()) return plan;
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan,
                   Plan::Build(*catalog_, TokenStore(catalog_), spec));
  absl::MutexLock lock(&mu_);
  for (auto it = plans_.begin(); it != plans_.end();) {  // forget expired entries
    it = it->second.expired() ? plans_.erase(it) : std::next(it);
  }
  plans_[key] = plan;
  Remember(plan, &recent_plans_);
  return plan;
}

std::shared_ptr<const EpochLayout> ShardServiceLogic::SharedLayout(std::shared_ptr<const Plan> plan,
                                                                   uint64_t epoch) {
  const auto key = std::make_pair(plan.get(), epoch);
  {
    absl::MutexLock lock(&mu_);
    if (auto it = layouts_.find(key); it != layouts_.end()) {
      if (auto layout = it->second.lock()) {
        Remember(layout, &recent_layouts_);
        return layout;
      }
    }
  }
  auto layout = std::make_shared<const EpochLayout>(plan, epoch);
  absl::MutexLock lock(&mu_);
  for (auto it = layouts_.begin(); it != layouts_.end();) {
    it = it->second.expired() ? layouts_.erase(it) : std::next(it);
  }
  layouts_[key] = layout;
  Remember(layout, &recent_layouts_);
  return layout;
}

absl::StatusOr<std::unique_ptr<ServedStream>> ShardServiceLogic::OpenStream(
    const v1::StreamRequest& request) {
  StreamOptions options;
  options.plan.tokenizer = request.tokenizer();
  options.plan.seq_len = request.seq_len();
  options.plan.seed = request.seed();
  options.plan.filters.dedup = !request.no_dedup();
  options.plan.filters.preset = request.filter_preset().empty() ? "none" : request.filter_preset();
  options.rank = request.rank();
  options.world_size = request.world_size() == 0 ? 1 : request.world_size();
  options.batch_size = request.batch_size();
  options.epochs = request.epochs();
  options.resume_cursor = request.start_cursor();
  options.doc_boundaries = request.doc_boundaries();
  RETURN_IF_ERROR(options.Validate());
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
  if (active_.fetch_add(1) >= limits_.max_streams) {
    active_.fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat("this server already serves ", limits_.max_streams,
                     " streams (--max-streams); retry later or use another server"));
  }
  auto release = [this](void*) { active_.fetch_sub(1); };
  std::unique_ptr<void, decltype(release)> slot(this, release);
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, SharedPlan(options.plan));
  v1::TokenDtype dtype = request.dtype();
  const bool fits_16 = plan->tokenizer().vocab_size() <= 65536;
  if (dtype == v1::TOKEN_DTYPE_UNSPECIFIED)
    dtype = fits_16 ? v1::TOKEN_DTYPE_UINT16 : v1::TOKEN_DTYPE_INT32;
  if (dtype == v1::TOKEN_DTYPE_UINT16 && !fits_16) {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype UINT16 cannot hold the ids of tokenizer \"", plan->tokenizer().name(),
                     "\" (", plan->tokenizer().vocab_size(), " ids); ask for INT32"));
  }
  options.packed_bytes = dtype == v1::TOKEN_DTYPE_UINT16 ? 2 : 4;
  ASSIGN_OR_RETURN(std::unique_ptr<BatchStream> stream,
                   BatchStream::Open(catalog_, plan, options,
                                     [this](std::shared_ptr<const Plan> p, uint64_t epoch) {
                                       return SharedLayout(std::move(p), epoch);
                                     }));
  slot.release();  // the ServedStream gives the slot back
  return std::unique_ptr<ServedStream>(new ServedStream(this, std::move(stream), dtype));
}

ServedStream::~ServedStream() { owner_->active_.fetch_sub(1); }

absl::StatusOr<bool> ServedStream::Next(v1::Batch* batch) {
  ASSIGN_OR_RETURN(bool more, stream_->Next(&scratch_));
  if (!more) return false;
  batch->Clear();
  // The packed ids were written in the requested dtype; swapping buffers reuses the previous
  // batch's allocation next time.
  batch->mutable_tokens()->swap(scratch_.packed);
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
