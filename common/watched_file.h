// A small file read again whenever it changes on disk: bearer-token lists and client tokens,
// which operators rotate by rewriting or replacing (rename over) the file while servers and
// trainers run.
#ifndef SHARDSTREAM_COMMON_WATCHED_FILE_H_
#define SHARDSTREAM_COMMON_WATCHED_FILE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace shardstream {

// Thread-safe. Costs one stat(2) per Contents() while the file is unchanged.
class WatchedFile {
 public:
  // Files larger than this are refused (a token file is a few lines).
  static constexpr uint64_t kMaxBytes = uint64_t{1} << 20;

  explicit WatchedFile(std::string path) : path_(std::move(path)) {}

  // The file's contents as of now: read again when its inode, size, modification or change
  // time differ from the last read. An error (the file gone, unreadable, too large) is
  // returned as it is — the caller decides; the next call tries again. The message names the
  // file by its base name only.
  absl::StatusOr<std::shared_ptr<const std::string>> Contents();

  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    ino_t inode = 0;
    dev_t device = 0;
    off_t size = -1;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

  const std::string path_;
  absl::Mutex mu_;
  Stamp stamp_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::string> contents_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_WATCHED_FILE_H_
