#include "server/batches_ahead.h"

#include <algorithm>
#include <utility>

namespace shardstream {

BatchesAhead::BatchesAhead(ServedStream* stream, std::function<bool()> spare_core)
    : stream_(stream), spare_core_(std::move(spare_core)) {}

BatchesAhead::~BatchesAhead() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BatchesAhead::Fill(Group* g, size_t most) {
  g->count = 0;
  g->last = false;
  g->status = absl::OkStatus();
  if (g->batches.size() < most) g->batches.resize(most);
  while (g->count < most) {
    if (g->count > 0) {  // a group being made when the stream ends is left unfinished
      absl::MutexLock lock(&mu_);
      if (stop_) return;
    }
    absl::StatusOr<bool> more = stream_->Next(&g->batches[g->count]);
    if (!more.ok() || !*more) {
      g->last = true;
      g->status = more.status();
      return;
    }
    ++g->count;
  }
}

void BatchesAhead::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BatchesAhead* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) { return self->asked_ || self->stop_; },
          this));
      if (stop_) return;
    }
    Group* g = &groups_[1 - reading_];
    Fill(g, group_size_);
    made_ahead_ += g->count;
    absl::MutexLock lock(&mu_);
    asked_ = false;
  }
}

absl::StatusOr<const v1::Batch*> BatchesAhead::Next() {
  Group* g = &groups_[reading_];
  if (next_ == g->count && !g->last) {  // used up: on to the next group
    if (pending_) {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](BatchesAhead* self)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) { return !self->asked_; },
          this));
      pending_ = false;
      reading_ = 1 - reading_;
    } else {
      Fill(g, 1);  // here, one batch: as without this class
    }
    g = &groups_[reading_];
    next_ = 0;
    if (!g->last && spare_core_()) {  // the group after this one is made while it is written
      if (g->count > 0 && !thread_.joinable()) {
        const size_t bytes = std::max<size_t>(g->batches[0].tokens().size(), 1);
        group_size_ = std::clamp<size_t>(kGroupBytes / bytes, 1, kMostGroup);
        thread_ = std::thread([this] { Run(); });
      }
      if (thread_.joinable()) {
        absl::MutexLock lock(&mu_);
        asked_ = true;
        pending_ = true;
      }
    }
  }
  if (next_ < g->count) return &g->batches[next_++];
  if (!g->status.ok()) return g->status;
  return nullptr;
}

}  // namespace shardstream
