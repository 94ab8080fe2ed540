// A cache of shared, immutable objects built on demand (plans, epoch layouts): an entry lives as
// long as someone holds it, and the `keep_recent` last used stay built for those who come back
// (a client reconnecting, the next request of a window), and each is built once however many
// ask for it at the same time. One mechanism for every such cache of the server.
#ifndef SHARDSTREAM_SERVER_SHARED_CACHE_H_
#define SHARDSTREAM_SERVER_SHARED_CACHE_H_

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace shardstream {

// Thread-safe.
template <typename Key, typename T>
class SharedCache {
 public:
  explicit SharedCache(size_t keep_recent) : keep_recent_(keep_recent) {}

  // The live entry of `key` (marked as just used), or nullptr.
  std::shared_ptr<const T> Find(const Key& key) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return FindLocked(key);
  }

  // The entry of `key`, made by `build()` (returning absl::StatusOr<std::shared_ptr<const T>>,
  // run outside any lock) when there is none. Whoever asks for a key being built waits for that
  // build and shares its result or its error (errors are not kept: the next request builds
  // again), so a burst of requests builds one copy; different keys build at the same time.
  template <typename Build>
  absl::StatusOr<std::shared_ptr<const T>> GetOrBuild(const Key& key, Build build)
      ABSL_LOCKS_EXCLUDED(mu_) {
    std::shared_ptr<Pending> pending;
    bool builder = false;
    {
      absl::MutexLock lock(&mu_);
      if (std::shared_ptr<const T> value = FindLocked(key)) return value;
      std::shared_ptr<Pending>& slot = building_[key];
      if (slot == nullptr) {
        slot = std::make_shared<Pending>();
        builder = true;
      }
      pending = slot;
    }
    if (!builder) {
      pending->done.WaitForNotification();
      return pending->result;
    }
    pending->result = build();
    {
      absl::MutexLock lock(&mu_);
      if (pending->result.ok()) InsertLocked(key, *pending->result);
      building_.erase(key);
    }
    pending->done.Notify();
    return pending->result;
  }

  // Entries alive now (held by someone or among the recent).
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_) {
    size_t n = 0;
    ForEachLive([&](const T&) { ++n; });
    return n;
  }

  // Calls visit(entry) for each entry alive now (held by someone or among the recent), under
  // the cache's lock: `visit` must not call the cache.
  template <typename Visit>
  void ForEachLive(Visit visit) const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, entry] : entries_) {
      if (const std::shared_ptr<const T> value = entry.lock()) visit(*value);
    }
  }

  // A live entry as ForgetRecent shows it: its key, and whether someone besides the cache
  // holds it.
  struct Live {
    Key key;
    bool held;
  };

  // Takes out of the recent ones the entries whose keys `choose` returns: it is called (under
  // the cache's lock: it must not call the cache) with every live entry, as a
  // std::vector<Live>, and returns a std::vector<Key>. Those entries live on only while someone
  // holds them.
  template <typename Choose>
  void ForgetRecent(Choose choose) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<std::shared_ptr<const T>> dropped;  // released after the lock
    absl::MutexLock lock(&mu_);
    std::vector<Live> live;
    for (const auto& [key, entry] : entries_) {
      const long holders = entry.use_count();  // the recent list's reference among them
      if (holders == 0) continue;
      const bool recent = Recent(entry.lock().get()) != recent_.end();
      live.push_back(Live{key, holders > (recent ? 1 : 0)});
    }
    for (const Key& key : choose(std::as_const(live))) {
      auto entry = entries_.find(key);
      if (entry == entries_.end()) continue;
      auto it = Recent(entry->second.lock().get());
      if (it == recent_.end()) continue;
      dropped.push_back(std::move(*it));
      recent_.erase(it);
    }
  }

  // Makes `value` the entry of `key` (two callers racing to build one key both get a valid
  // object; the later one keeps the slot) and forgets entries nobody holds any more.
  void Insert(const Key& key, const std::shared_ptr<const T>& value) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    InsertLocked(key, value);
  }

 private:
  // A build in progress, for those who wait for it.
  struct Pending {
    absl::Notification done;
    absl::StatusOr<std::shared_ptr<const T>> result;  // written before `done`
  };

  std::shared_ptr<const T> FindLocked(const Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = entries_.find(key);
    std::shared_ptr<const T> value = it == entries_.end() ? nullptr : it->second.lock();
    if (value != nullptr) Touch(value);
    return value;
  }

  void InsertLocked(const Key& key, const std::shared_ptr<const T>& value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    }
    entries_[key] = value;
    Touch(value);
  }

  // Where `value` is among the recent ones, or recent_.end().
  typename std::deque<std::shared_ptr<const T>>::iterator Recent(const T* value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::find_if(recent_.begin(), recent_.end(),
                        [&](const std::shared_ptr<const T>& r) { return r.get() == value; });
  }

  void Touch(const std::shared_ptr<const T>& value) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = Recent(value.get());
    if (it != recent_.end()) recent_.erase(it);
    recent_.push_front(value);
    if (recent_.size() > keep_recent_) recent_.pop_back();
  }

  const size_t keep_recent_;
  mutable absl::Mutex mu_;
  std::map<Key, std::weak_ptr<const T>> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const T>> recent_ ABSL_GUARDED_BY(mu_);
  std::map<Key, std::shared_ptr<Pending>> building_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_SHARED_CACHE_H_
