// A progress line redrawn in place on a terminal, for long jobs, and the size format of the
// progress and summary lines. Does nothing when stderr is not
// a TTY, so logs and pipes only get the final summary.
#ifndef SHARDSTREAM_CLI_PROGRESS_LINE_H_
#define SHARDSTREAM_CLI_PROGRESS_LINE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

namespace shardstream::cli {

// `bytes` as "12.3 MiB".
std::string Mib(uint64_t bytes);

// Calls `render` every 250 ms from a background thread and draws its result on stderr until
// destroyed, then erases the line. Thread-safe as long as `render` is.
class ProgressLine {
 public:
  explicit ProgressLine(std::function<std::string()> render);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

 private:
  std::function<std::string()> render_;
  absl::Notification done_;
  std::thread thread_;
};

}  // namespace shardstream::cli

#endif  // SHARDSTREAM_CLI_PROGRESS_LINE_H_
