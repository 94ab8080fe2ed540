#include "server/reader_sessions.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace shardstream {

void ReaderSessions::Seen(const Call& call) {
  if (call.reader.empty()) return;
  const absl::Time now = absl::Now();
  bool opened = false;
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = sessions_.try_emplace(call.reader.substr(0, 32));
    Session& s = it->second;
    if (inserted) {
      s.first = call;
      s.opened = now;
      opened = true;
    }
    s.last = now;
    ++s.calls;
    s.sequences += call.sequences;
    s.tokens += call.tokens;
    if (call.code != absl::StatusCode::kOk) {
      ++s.errors;
      s.last_error = call.code;
    }
  }
  if (opened) {
    LogEvent(LogSeverity::kInfo, "reader opened",
             {{"peer", call.peer},
              {"reader", call.reader.substr(0, 32)},
              {"rank", call.rank.substr(0, 32)},
              {"plan", call.plan.substr(0, 160)},
              {"dataset", call.dataset}});
  }
}

size_t ReaderSessions::Reap(absl::Time now, bool everyone) {
  std::vector<std::pair<std::string, Session>> ended;
  size_t left;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (everyone || now - it->second.last > idle_) {
        ended.emplace_back(it->first, std::move(it->second));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    left = sessions_.size();
  }
  for (const auto& [id, s] : ended) {
    LogEvent(LogSeverity::kInfo, "reader ended",
             {{"peer", s.first.peer},
              {"reader", id},
              {"rank", s.first.rank.substr(0, 32)},
              {"plan", s.first.plan.substr(0, 160)},
              {"calls", absl::StrCat(s.calls)},
              {"sequences", absl::StrCat(s.sequences)},
              {"tokens", absl::StrCat(s.tokens)},
              {"seconds", absl::StrFormat("%.3f", absl::ToDoubleSeconds(s.last - s.opened))},
              {"errors", absl::StrCat(s.errors)},
              {"status", s.errors == 0 ? std::string("OK")
                                       : std::string(absl::StatusCodeToString(s.last_error))},
              {"why", everyone ? "server stopping"
                               : absl::StrCat("no call for ", absl::FormatDuration(idle_))}});
  }
  return left;
}

size_t ReaderSessions::open() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

}  // namespace shardstream
