// A stream's batches made one group ahead, on a thread of their own, while the group before is
// written: making a batch (reading its documents) and writing it (gRPC, the socket) then use
// two cores instead of taking turns on one. Only worth it while the server has a core to spare:
// with a stream per core, the extra thread and hand-overs only cost.
#ifndef SHARDSTREAM_SERVER_BATCHES_AHEAD_H_
#define SHARDSTREAM_SERVER_BATCHES_AHEAD_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/shard_service_logic.h"
#include "shardstream/v1/shard_service.pb.h"

namespace shardstream {

// Not thread-safe (one caller); owns the thread it starts.
class BatchesAhead {
 public:
  // Batches made ahead are held in two groups of up to kGroupBytes of tokens each (at least one
  // batch, at most kMostGroup): the threads meet once per group, not per batch (a hand-over per
  // batch cost more in wake-ups than the overlap saved on two cores).
  static constexpr size_t kGroupBytes = size_t{1} << 20;
  static constexpr size_t kMostGroup = 16;

  // `stream` is borrowed. `spare_core()` is asked whenever a group is started: true lets the
  // thread make the next group while this one is written; false makes the next batch in the
  // caller's thread when it is asked for, as without this class.
  BatchesAhead(ServedStream* stream, std::function<bool()> spare_core);
  ~BatchesAhead();  // stops the thread once the batch it is making is made
  BatchesAhead(const BatchesAhead&) = delete;
  BatchesAhead& operator=(const BatchesAhead&) = delete;

  // The stream's next batch (valid until the next call), nullptr after its last, or its error:
  // the same batches in the same order whether or not any was made ahead.
  absl::StatusOr<const v1::Batch*> Next();
  // Batches made on the thread so far.
  size_t made_ahead() const { return made_ahead_.load(); }

 private:
  struct Group {
    std::vector<v1::Batch> batches;
    size_t count = 0;   // made
    bool last = false;  // the stream ends after these (`status`: why, when not OK)
    absl::Status status;
  };
  // Makes up to `most` batches into `g` (not from the group being read).
  void Fill(Group* g, size_t most);
  void Run();

  ServedStream* const stream_;
  const std::function<bool()> spare_core_;
  Group groups_[2];
  // The caller's side. While the thread fills the other group, reading_ and group_size_ stay.
  int reading_ = 0;        // the group Next reads
  size_t next_ = 0;        // its next batch
  bool pending_ = false;   // the other group was asked of the thread, and not read yet
  size_t group_size_ = 1;  // batches per group made ahead, from the first batch's size
  std::atomic<size_t> made_ahead_{0};
  std::thread thread_;  // started by the first group made ahead
  absl::Mutex mu_;
  bool asked_ ABSL_GUARDED_BY(mu_) = false;  // the thread fills the other group
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_BATCHES_AHEAD_H_
