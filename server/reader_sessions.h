// The Readers a server is serving, told apart by the id they send with each call
// (common/reader_metadata.h): one log line when a reader's first call arrives and one when it
// has been idle for a while (or the server stops), with its peer, rank, plan, calls, tokens,
// duration and errors — the ReadSequences counterpart of StreamBatches' "stream opened" and
// "stream ended" lines. Thread-safe.
#ifndef SHARDSTREAM_SERVER_READER_SESSIONS_H_
#define SHARDSTREAM_SERVER_READER_SESSIONS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shardstream {

class ReaderSessions {
 public:
  // A reader with no call for `idle` has ended.
  explicit ReaderSessions(absl::Duration idle) : idle_(idle) {}

  struct Call {
    std::string reader;   // the id; calls without one are not tracked
    std::string rank;     // "r/w"
    std::string peer;
    std::string plan;     // "tokenizer/seq_len[/filters]"
    std::string dataset;  // the catalog version it was answered from (16 hex digits)
    uint64_t sequences = 0;
    uint64_t tokens = 0;
    absl::StatusCode code = absl::StatusCode::kOk;
  };
  void Seen(const Call& call);
  // Ends (and logs) the readers idle for longer than `idle`; all of them when `everyone`
  // (the server stopping). Returns how many are still open.
  size_t Reap(absl::Time now, bool everyone = false);
  size_t open() const;

 private:
  struct Session {
    Call first;
    absl::Time opened;
    absl::Time last;
    uint64_t calls = 0;
    uint64_t sequences = 0;
    uint64_t tokens = 0;
    uint64_t errors = 0;
    absl::StatusCode last_error = absl::StatusCode::kOk;
  };
  const absl::Duration idle_;
  mutable absl::Mutex mu_;
  std::map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_READER_SESSIONS_H_
