#include "server/layout_cache.h"

#include <utility>

#include "common/ordered_parallel.h"

namespace shardstream {
namespace {

// The most threads one layout build uses.
constexpr int kBuildThreads = 8;

// What a layout of `docs` documents holds (PartEpochLayout::MemoryBytes, before it exists).
size_t LayoutBytes(size_t docs) { return docs * sizeof(uint32_t) + (docs + 1) * sizeof(uint64_t); }

}  // namespace

LayoutCache::LayoutCache(size_t keep_recent, size_t ahead_bytes)
    : threads_(ThreadsUpTo(kBuildThreads)), ahead_bytes_(ahead_bytes), cache_(keep_recent) {}

LayoutCache::~LayoutCache() {
  std::thread builder;
  {
    absl::MutexLock lock(&ahead_mu_);
    stop_ = true;
    builder = std::move(builder_);
  }
  if (builder.joinable()) builder.join();
}

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch,
    bool recent) {
  return *cache_.GetOrBuild(
      Key{&packing->counts(), order_key, epoch},
      [&] {
        return absl::StatusOr<std::shared_ptr<const PartEpochLayout>>(
            std::make_shared<const PartEpochLayout>(*packing, order_key, epoch, threads_));
      },
      recent);
}

LayoutCache::Ahead::Ahead(std::shared_ptr<std::atomic<size_t>> held, size_t bytes)
    : held_(std::move(held)), bytes_(bytes) {
  held_->fetch_add(bytes_);
}

LayoutCache::Ahead::~Ahead() { held_->fetch_sub(bytes_); }

std::shared_ptr<const PartEpochLayout> LayoutCache::Ahead::layout() const {
  absl::MutexLock lock(&mu_);
  return layout_;
}

std::shared_ptr<LayoutCache::Ahead> LayoutCache::BuildAhead(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  const Key key{&packing->counts(), order_key, epoch};
  absl::MutexLock lock(&ahead_mu_);
  if (stop_) return nullptr;
  for (auto it = ahead_.begin(); it != ahead_.end();) {
    it = it->second.expired() ? ahead_.erase(it) : std::next(it);
  }
  if (auto it = ahead_.find(key); it != ahead_.end()) {
    if (std::shared_ptr<Ahead> held = it->second.lock()) return held;
  }
  const size_t bytes = LayoutBytes(packing->num_docs());
  const size_t held = held_ahead_->load();
  if (held > 0 && held + bytes > ahead_bytes_) return nullptr;
  auto ahead = std::shared_ptr<Ahead>(new Ahead(held_ahead_, bytes));
  ahead_[key] = ahead;
  tasks_.push_back(Task{packing, order_key, epoch, ahead});
  if (!builder_.joinable()) builder_ = std::thread([this] { BuildTasks(); });
  return ahead;
}

void LayoutCache::BuildTasks() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&ahead_mu_);
      ahead_mu_.Await(absl::Condition(this, &LayoutCache::HasTaskOrStop));
      if (stop_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    const std::shared_ptr<Ahead> ahead = task.ahead.lock();
    if (ahead == nullptr) continue;
    std::shared_ptr<const PartEpochLayout> layout =
        Get(task.packing, task.order_key, task.epoch, /*recent=*/false);
    absl::MutexLock lock(&ahead->mu_);
    ahead->layout_ = std::move(layout);
  }
}

}  // namespace shardstream
