#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace shardstream {
namespace {

// The only process-wide mutable setting; written once by main() before threads start.
std::atomic<int> min_severity{static_cast<int>(LogSeverity::kInfo)};

constexpr const char* kSeverityLetters = "DIWE";

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

void LogLine(LogSeverity severity, std::string_view message) {
  int level = static_cast<int>(severity);
  if (level < min_severity.load(std::memory_order_relaxed)) return;
  std::string line =
      absl::StrCat(std::string(1, kSeverityLetters[level]),
                   absl::FormatTime(" %Y-%m-%dT%H:%M:%E3S ", absl::Now(), absl::UTCTimeZone()));
  line.append(message);
  line.push_back('\n');
  // One write per line keeps concurrent lines whole; a failed log write has nowhere to go.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace shardstream
