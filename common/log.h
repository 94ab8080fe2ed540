// The project's one logging choice: timestamped lines on stderr, filtered by a process-wide
// minimum severity that only main() sets. Thread-safe (one write(2) per line).
#ifndef SHARDSTREAM_COMMON_LOG_H_
#define SHARDSTREAM_COMMON_LOG_H_

#include <string_view>

#include "absl/strings/str_cat.h"

namespace shardstream {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `severity` are dropped. Default: kInfo. Call once from main() before threads start.
void SetMinLogSeverity(LogSeverity severity);

void LogLine(LogSeverity severity, std::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogSeverity::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogSeverity::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogSeverity::kError, absl::StrCat(args...));
}

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_LOG_H_
