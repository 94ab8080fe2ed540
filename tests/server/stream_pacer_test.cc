#include "server/stream_pacer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "common/hash128.h"

namespace shardstream {
namespace {

constexpr absl::Duration kNever = absl::Hours(1);  // no member counts as stalled

// `made` (a Made call) run on a thread of its own is still waiting after 200 ms, and returns
// once `release` has run; returns what it returned.
absl::Duration HeldUntil(const std::function<absl::Duration()>& made,
                         const std::function<void()>& release) {
  std::atomic<bool> returned{false};
  absl::Duration waited;
  std::thread ahead([&] {
    waited = made();
    returned = true;
  });
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_FALSE(returned.load()) << "not held back";
  release();
  ahead.join();
  return waited;
}

TEST(StreamPacer, WaitsForTheSlowestOfItsJobToComeWithinTwoEpochs) {
  StreamPacer pacer(kNever);
  const Hash128 job = HashBytes("job");
  std::unique_ptr<StreamPacer::Member> slow = pacer.Join(job, 0), fast = pacer.Join(job, 0);
  EXPECT_EQ(pacer.members(), 2u);
  EXPECT_EQ(slow->Made(0), absl::ZeroDuration());
  for (uint64_t epoch = 0; epoch <= StreamPacer::kMostEpochsAhead; ++epoch) {
    EXPECT_EQ(fast->Made(epoch), absl::ZeroDuration()) << epoch;
  }
  const absl::Duration waited =
      HeldUntil([&] { return fast->Made(StreamPacer::kMostEpochsAhead + 1); },  // 3 epochs ahead
                [&] {
                  slow->Made(0);  // more batches of the same epoch do not let it go
                  absl::SleepFor(absl::Milliseconds(50));
                  slow->Made(1);
                });
  EXPECT_GT(waited, absl::ZeroDuration());
}

TEST(StreamPacer, OtherJobsAndMembersThatLeftAreNotWaitedFor) {
  StreamPacer pacer(kNever);
  std::unique_ptr<StreamPacer::Member> other_job = pacer.Join(HashBytes("other"), 0);
  other_job->Made(0);
  std::unique_ptr<StreamPacer::Member> fast = pacer.Join(HashBytes("job"), 8);
  EXPECT_EQ(fast->Made(9), absl::ZeroDuration()) << "alone in its job";
  std::unique_ptr<StreamPacer::Member> slow = pacer.Join(HashBytes("job"), 7);  // a rank resumed
  HeldUntil([&] { return fast->Made(10); },  // 3 ahead of the resumed one
            [&] { slow.reset(); });          // its client went away
  EXPECT_EQ(pacer.members(), 2u);
}

// Runs of the same data, seed and shape started at different times are different jobs.
TEST(StreamPacer, StreamsStartingFarApartAreOtherJobs) {
  StreamPacer pacer(kNever, /*join_window=*/absl::ZeroDuration());
  const Hash128 key = HashBytes("plan");
  std::unique_ptr<StreamPacer::Member> early = pacer.Join(key, 0);
  early->Made(30);
  std::unique_ptr<StreamPacer::Member> late = pacer.Join(key, 0);  // a second run, from the start
  EXPECT_EQ(pacer.jobs(), 2u);
  EXPECT_EQ(early->Made(31), absl::ZeroDuration()) << "held back by another job";
  std::unique_ptr<StreamPacer::Member> rank = pacer.Join(key, 1);  // the second run's other rank
  EXPECT_EQ(pacer.jobs(), 2u);
  EXPECT_EQ(pacer.members(), 3u);
  HeldUntil([&] { return rank->Made(3); },  // 3 ahead of `late`, its own job's slowest
            [&] { late->Made(1); });
  early.reset();
  late.reset();
  rank.reset();
  EXPECT_EQ(pacer.jobs(), 0u);
}

// A job's ranks start together from the same cursor: one that connects late, when the others
// are epochs ahead, is still of their job, and they wait for it.
TEST(StreamPacer, ARankStartingLateIsOfItsJob) {
  StreamPacer pacer(kNever, /*join_window=*/absl::Hours(1));
  const Hash128 key = HashBytes("plan");
  std::unique_ptr<StreamPacer::Member> early = pacer.Join(key, 4);
  early->Made(9);
  std::unique_ptr<StreamPacer::Member> late = pacer.Join(key, 4);
  std::unique_ptr<StreamPacer::Member> other = pacer.Join(key, 0);  // started elsewhere
  EXPECT_EQ(pacer.jobs(), 2u);
  HeldUntil([&] { return early->Made(10); }, [&] { late->Made(8); });
}

TEST(StreamPacer, AMemberThatMakesNoBatchesForStalledAfterIsNotWaitedFor) {
  StreamPacer pacer(/*stalled_after=*/absl::Milliseconds(300));
  auto stuck = pacer.Join(HashBytes("job"), 0), fast = pacer.Join(HashBytes("job"), 0);
  stuck->Made(0);
  // Returns although `stuck` never moves: once it made no batch for stalled_after.
  EXPECT_GT(fast->Made(5), absl::ZeroDuration());
  // From then on it is not waited for at all, until it makes a batch again.
  EXPECT_EQ(fast->Made(6), absl::ZeroDuration());
  stuck->Made(0);
  EXPECT_GT(fast->Made(7), absl::ZeroDuration());
}

TEST(StreamPacer, AMemberStillMakingBatchesIsWaitedForPastStalledAfter) {
  const absl::Duration stalled_after = absl::Seconds(1);
  StreamPacer pacer(stalled_after);
  const Hash128 job = HashBytes("job");
  auto slow = pacer.Join(job, 0), fast = pacer.Join(job, 0);
  slow->Made(0);
  std::atomic<bool> moved{false}, returned{false};
  std::thread ahead([&] {
    fast->Made(3);
    returned = true;
    EXPECT_TRUE(moved.load()) << "let go while the slowest still made batches";
  });
  // Slow but making batches at epoch 0 for well past stalled_after (a batch every 10 ms).
  const absl::Time until = absl::Now() + stalled_after + absl::Milliseconds(500);
  while (absl::Now() < until) {
    slow->Made(0);
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(returned.load());
  moved = true;
  slow->Made(1);
  ahead.join();
  EXPECT_TRUE(returned.load());
}

}  // namespace
}  // namespace shardstream
