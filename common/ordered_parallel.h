// Parallel production, ordered consumption: the shape of every job that reads corpus files in
// parallel but must commit their results strictly in order (index, tokenize).
#ifndef SHARDSTREAM_COMMON_ORDERED_PARALLEL_H_
#define SHARDSTREAM_COMMON_ORDERED_PARALLEL_H_

#include <algorithm>
#include <cstddef>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace shardstream {

// Produces items 0..n-1 on `jobs` threads and consumes them on the calling thread in order.
// `make_worker()` is called once on each worker thread and returns a callable `T(size_t i)`
// (so each thread can own its buffers); `consume(i, T)` runs on the calling thread for i = 0,
// 1, 2, ... Workers run at most 2 × jobs items ahead of consumption, which bounds memory.
// The first non-OK status from `consume` stops production and is returned.
template <typename T, typename MakeWorker, typename Consume>
absl::Status RunOrdered(size_t n, int jobs, MakeWorker make_worker, Consume consume) {
  if (n == 0) return absl::OkStatus();
  const size_t threads = std::clamp<size_t>(jobs, 1, n);
  const size_t window = 2 * threads;
  absl::Mutex mu;
  absl::CondVar cv;
  std::vector<std::optional<T>> done(n);  // guarded by mu
  size_t next = 0, consumed = 0;          // guarded by mu
  bool stopped = false;                   // guarded by mu

  auto run_worker = [&] {
    auto produce = make_worker();
    while (true) {
      size_t i;
      {
        absl::MutexLock lock(&mu);
        while (!stopped && next < n && next >= consumed + window) cv.Wait(&mu);
        if (stopped || next >= n) return;
        i = next++;
      }
      T result = produce(i);
      absl::MutexLock lock(&mu);
      done[i] = std::move(result);
      cv.SignalAll();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(run_worker);

  absl::Status status;
  for (size_t i = 0; i < n && status.ok(); ++i) {
    std::optional<T> item;
    {
      absl::MutexLock lock(&mu);
      while (!done[i].has_value()) cv.Wait(&mu);
      item = std::move(done[i]);
      done[i].reset();
      consumed = i + 1;
      cv.SignalAll();
    }
    status = consume(i, std::move(*item));
  }
  {
    absl::MutexLock lock(&mu);
    stopped = true;
    cv.SignalAll();
  }
  for (std::thread& t : pool) t.join();
  return status;
}

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_ORDERED_PARALLEL_H_
