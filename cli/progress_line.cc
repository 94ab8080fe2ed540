#include "cli/progress_line.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace shardstream::cli {

std::string Mib(uint64_t bytes) { return absl::StrFormat("%.1f MiB", bytes / 1048576.0); }

ProgressLine::ProgressLine(std::function<std::string()> render) : render_(std::move(render)) {
  if (!::isatty(STDERR_FILENO)) return;
  thread_ = std::thread([this] {
    while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(250))) {
      std::string line = render_();
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    }
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  });
}

ProgressLine::~ProgressLine() {
  done_.Notify();
  if (thread_.joinable()) thread_.join();
}

}  // namespace shardstream::cli
