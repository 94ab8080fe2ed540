// Keeps the ranks of a training job within kMostEpochsAhead epochs of each other. The ranks of
// a job (streams of the same plan, seed, world size and batch size) read the same epoch layouts.
// Free-running, the fastest drift ahead of the slowest without bound: 64 clients reading as
// fast as they could on 2 cores, the slowest at 0.55–0.65 of the fastest's pace, until most
// ranks read an epoch of their own and built its layout alone (7–14 builds per epoch, most of
// the server's time). Paced, the epochs between the slowest and the fastest stay built and
// shared (LayoutCache keeps the unheld ones between its readers), and every rank gets an equal
// share. A rank held back waits where it would anyway: at its job's next all-reduce.
//
// A job is told apart from another of the same plan and shape (a sweep of runs on the same
// data and seed) by when and where it starts: a stream joins a group of its key that started
// at the same epoch less than kJoinWindow ago (a job's ranks start together, from the same
// cursor), or one with a member within kMostEpochsAhead epochs of its first epoch (a rank
// that reconnects resumes near the others); otherwise it starts a group of its own. Runs
// started together are paced as one; servers whose clients run such sweeps on small data can
// turn pacing off (`serve --no-pacing`).
//
// A stream that has made no batch for `stalled_after` (its client stopped reading, or is gone)
// is not waited for, so one stuck client cannot stop the others of its job for longer than that.
#ifndef SHARDSTREAM_SERVER_STREAM_PACER_H_
#define SHARDSTREAM_SERVER_STREAM_PACER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/hash128.h"

namespace shardstream {

// Thread-safe.
class StreamPacer {
 public:
  // Less than LayoutCache::kKeptUnheldEpochs, so that every epoch between a job's slowest and
  // fastest stream stays built.
  static constexpr uint64_t kMostEpochsAhead = 2;
  static constexpr absl::Duration kJoinWindow = absl::Seconds(10);

  explicit StreamPacer(absl::Duration stalled_after = absl::Seconds(1),
                       absl::Duration join_window = kJoinWindow)
      : stalled_after_(stalled_after), join_window_(join_window) {}
  ~StreamPacer();  // after its members

 private:
  struct Group;

 public:
  // One stream's place in its job. Thread-compatible: called by whoever makes the stream's
  // batches, one at a time.
  class Member {
   public:
    ~Member();  // leaves the job: the others no longer wait for it
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // The stream made a batch of `epoch` (epochs never go down). When that is more than
    // kMostEpochsAhead past the slowest of its job's other streams that are still making
    // batches, waits until it no longer is (that one moved on, left, or stalled). Lock-free
    // while the epoch stays the same. Returns how long it waited.
    absl::Duration Made(uint64_t epoch);

   private:
    friend class StreamPacer;
    Member(StreamPacer* pacer, Group* group, uint64_t epoch);
    StreamPacer* const pacer_;
    Group* const group_;
    std::atomic<uint64_t> epoch_;   // the last Made's; changed under the pacer's lock
    std::atomic<int64_t> made_ns_;  // when it made its last batch (or joined), Unix ns
  };

  // A new stream of `key` (plan, seed and shape) whose first batch is of `first_epoch`.
  std::unique_ptr<Member> Join(const Hash128& key, uint64_t first_epoch);

  // Streams now paced, and the jobs they make up.
  size_t members() const;
  size_t jobs() const;

 private:
  struct Group {
    Hash128 key;
    uint64_t first_epoch;  // of its first member
    absl::Time started;
    std::vector<Member*> members;  // changed and read under the pacer's lock
  };

  // The smallest epoch of the members of `self`'s job other than `self` that made a batch
  // since `stalled_before`; ~0 when there is none.
  uint64_t SlowestOthers(const Member* self, absl::Time stalled_before) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const absl::Duration stalled_after_;
  const absl::Duration join_window_;
  mutable absl::Mutex mu_;
  std::multimap<Hash128, std::unique_ptr<Group>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_STREAM_PACER_H_
