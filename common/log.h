// The project's one logging choice: timestamped lines on stderr, filtered by a process-wide
// minimum severity, as text or as one JSON object per line (for log collectors); main() sets
// both. Thread-safe (one write(2) per line).
#ifndef SHARDSTREAM_COMMON_LOG_H_
#define SHARDSTREAM_COMMON_LOG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace shardstream {

enum class LogSeverity { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `severity` are dropped. Default: kInfo. Call once from main() before threads start.
void SetMinLogSeverity(LogSeverity severity);

enum class LogFormat { kText, kJson };
// Default: kText. Call once from main() before threads start.
void SetLogFormat(LogFormat format);

void LogLine(LogSeverity severity, std::string_view message);

// One event with named fields: text "message key=value ..." (values with spaces quoted), or
// JSON {"time":…,"severity":…,"message":…,"key":"value",…}. Field values are strings.
using LogFields = std::vector<std::pair<std::string_view, std::string>>;
void LogEvent(LogSeverity severity, std::string_view message, const LogFields& fields);

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
