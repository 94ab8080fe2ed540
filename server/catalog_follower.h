// Follows a catalog directory that `index` and `tokenize` update under a running server: when
// the files change, a new read-only instance is opened and, if it sees another catalog (other
// version or later writes), handed to the server. Each instance is an immutable snapshot, so
// streams opened on an older one read it unchanged to their end (RocksDB keeps the files it
// has open readable after a compaction deletes them).
#ifndef SHARDSTREAM_SERVER_CATALOG_FOLLOWER_H_
#define SHARDSTREAM_SERVER_CATALOG_FOLLOWER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/catalog.h"

namespace shardstream {

class CatalogFollower {
 public:
  using OnChange = std::function<void(std::shared_ptr<const Catalog>)>;

  // Watches `current`'s directory every `interval` (none when InfiniteDuration: CheckNow()
  // only); `on_change` runs on the follower's thread with each new instance (opened with
  // `options`, which must be read_only).
  CatalogFollower(std::shared_ptr<const Catalog> current, CatalogOptions options,
                  absl::Duration interval, OnChange on_change);
  ~CatalogFollower();  // stops and joins
  CatalogFollower(const CatalogFollower&) = delete;
  CatalogFollower& operator=(const CatalogFollower&) = delete;

  // One check now: true when a new instance was handed over. An error (the writer removing a
  // log file while the instance opened, say) leaves the current one in place.
  absl::StatusOr<bool> CheckNow();

 private:
  void Run();

  const std::string dir_;
  const CatalogOptions options_;
  const absl::Duration interval_;
  const OnChange on_change_;
  absl::Mutex mu_;
  std::shared_ptr<const Catalog> current_ ABSL_GUARDED_BY(mu_);
  std::string files_ ABSL_GUARDED_BY(mu_);  // names, sizes and times of the directory's files
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_CATALOG_FOLLOWER_H_
