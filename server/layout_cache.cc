#include "server/layout_cache.h"

#include <algorithm>

namespace shardstream {

std::shared_ptr<const PartEpochLayout> LayoutCache::Get(
    const std::shared_ptr<const PartPacking>& packing, uint64_t order_key, uint64_t epoch) {
  const Key key{packing.get(), order_key, epoch};
  auto remember = [this](const std::shared_ptr<const PartEpochLayout>& layout)
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                        auto it = std::find(recent_.begin(), recent_.end(), layout);
                        if (it != recent_.end()) recent_.erase(it);
                        recent_.push_front(layout);
                        if (recent_.size() > keep_recent_) recent_.pop_back();
                      };
  {
    absl::MutexLock lock(&mu_);
    if (auto it = layouts_.find(key); it != layouts_.end()) {
      if (auto layout = it->second.lock()) {
        remember(layout);
        return layout;
      }
    }
  }
  // Built outside the lock: other parts' readers need not wait. Two readers may race to build
  // the same layout; both results are identical and one wins the slot.
  auto layout = std::make_shared<const PartEpochLayout>(packing, order_key, epoch);
  absl::MutexLock lock(&mu_);
  for (auto it = layouts_.begin(); it != layouts_.end();) {
    it = it->second.expired() ? layouts_.erase(it) : std::next(it);
  }
  layouts_[key] = layout;
  remember(layout);
  return layout;
}

}  // namespace shardstream
