// A cache of shared, immutable objects built on demand (plans, epoch layouts): an entry lives as
// long as someone holds it, and the `keep_recent` last used stay built for those who come back
// (a client reconnecting, the next request of a window). One mechanism for every such cache of
// the server.
#ifndef SHARDSTREAM_SERVER_SHARED_CACHE_H_
#define SHARDSTREAM_SERVER_SHARED_CACHE_H_

#include <algorithm>
#include <deque>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace shardstream {

// Thread-safe. Building is the caller's: Find(), build outside any lock, Insert().
template <typename Key, typename T>
class SharedCache {
 public:
  explicit SharedCache(size_t keep_recent) : keep_recent_(keep_recent) {}

  // The live entry of `key` (marked as just used), or nullptr.
  std::shared_ptr<const T> Find(const Key& key) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    std::shared_ptr<const T> value = it == entries_.end() ? nullptr : it->second.lock();
    if (value != nullptr) Touch(value);
    return value;
  }

  // Entries alive now (held by someone or among the recent).
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& [key, entry] : entries_) n += entry.expired() ? 0 : 1;
    return n;
  }

  // Makes `value` the entry of `key` (two callers racing to build one key both get a valid
  // object; the later one keeps the slot) and forgets entries nobody holds any more.
  void Insert(const Key& key, const std::shared_ptr<const T>& value) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    }
    entries_[key] = value;
    Touch(value);
  }

 private:
  void Touch(const std::shared_ptr<const T>& value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = std::find(recent_.begin(), recent_.end(), value);
    if (it != recent_.end()) recent_.erase(it);
    recent_.push_front(value);
    if (recent_.size() > keep_recent_) recent_.pop_back();
  }

  const size_t keep_recent_;
  mutable absl::Mutex mu_;
  std::map<Key, std::weak_ptr<const T>> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const T>> recent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SHARED_CACHE_H_
