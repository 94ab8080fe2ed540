#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_writer.h"

namespace shardstream {
namespace {

// The only process-wide mutable setting; written once by main() before threads start.
std::atomic<int> min_severity{static_cast<int>(LogSeverity::kInfo)};
std::atomic<int> log_format{static_cast<int>(LogFormat::kText)};

constexpr const char* kSeverityNames[] = {"debug", "info", "warning", "error"};

void Write(std::string line) {
  line.push_back('\n');
  // One write per line keeps concurrent lines whole; a failed log write has nowhere to go.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
}

std::string Now(const char* format) {
  return absl::FormatTime(format, absl::Now(), absl::UTCTimeZone());
}

constexpr const char* kSeverityLetters = "DIWE";

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  min_severity.store(static_cast<int>(severity), std::memory_order_relaxed);
}

void SetLogFormat(LogFormat format) {
  log_format.store(static_cast<int>(format), std::memory_order_relaxed);
}

void LogLine(LogSeverity severity, std::string_view message) { LogEvent(severity, message, {}); }

void LogEvent(LogSeverity severity, std::string_view message, const LogFields& fields) {
  const int level = static_cast<int>(severity);
  if (level < min_severity.load(std::memory_order_relaxed)) return;
  if (log_format.load(std::memory_order_relaxed) == static_cast<int>(LogFormat::kJson)) {
    JsonWriter json;
    json.BeginObject();
    json.Key("time");
    json.String(Now("%Y-%m-%dT%H:%M:%E3SZ"));
    json.Key("severity");
    json.String(kSeverityNames[level]);
    json.Key("message");
    json.String(message);
    for (const auto& [key, value] : fields) {
      json.Key(key);
      json.String(value);
    }
    json.EndObject();
    Write(json.str());
    return;
  }
  std::string line = absl::StrCat(std::string(1, kSeverityLetters[level]),
                                  Now(" %Y-%m-%dT%H:%M:%E3S "));
  line.append(message);
  for (const auto& [key, value] : fields) {
    const bool quote = value.empty() || value.find_first_of(" \"=") != std::string::npos;
    line.append(" ").append(key).append("=");
    if (quote) {
      JsonWriter::AppendQuoted(value, &line);
    } else {
      line.append(value);
    }
  }
  Write(std::move(line));
}

}  // namespace shardstream
