// The memory budget of a job that reads corpus files (`index` and `tokenize` --memory-mib) and
// how it is shared out, the same way for both: RocksDB's memtables take 1/8 and its block cache
// 1/16 (at most 64 MiB); the other 13/16 are the job's own, for its readers' lines and for what
// it holds per file. The job decides how to spend its share (index_job.h, tokenize_job.h).
#ifndef SHARDSTREAM_SERVER_JOB_MEMORY_H_
#define SHARDSTREAM_SERVER_JOB_MEMORY_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/catalog.h"

namespace shardstream {

inline constexpr size_t kMiB = size_t{1} << 20;
// The budget when none is given, unless the job needs more to run at all.
inline constexpr size_t kDefaultJobMemoryBytes = size_t{1} << 30;

// What a CorpusFileReader holds for lines up to `line_bytes` long: the line buffer, simdjson's
// parse and the unescaped text (measured: 3 times the line), and the decoders' buffers.
size_t ReaderMemoryBytes(size_t line_bytes);

// The catalog options that keep RocksDB's part of `budget_bytes` within 3/16 of it.
CatalogOptions CatalogMemoryOf(size_t budget_bytes);
// The job's own part of `budget_bytes`: what the catalog's part leaves.
size_t JobShareOf(size_t budget_bytes);
// The least budget whose job share holds `job_bytes`, rounded up to a whole MiB.
size_t BudgetForJobShare(size_t job_bytes);

// Bytes of a fixed capacity handed out to threads in turns 0, 1, 2, ...: a request waits until
// every earlier turn was granted and enough bytes are free. A job whose items commit in order
// (RunOrdered) asks with the item's index as its turn and keeps the grant until the item is
// committed: no item then waits for bytes that only a later item holds. Thread-safe.
class MemoryGate {
 public:
  // Bytes given back to the gate when destroyed.
  class Grant {
   public:
    Grant() = default;
    Grant(Grant&& other) noexcept : gate_(other.gate_), bytes_(other.bytes_) {
      other.gate_ = nullptr;
    }
    Grant& operator=(Grant&& other) noexcept;
    ~Grant() { Release(); }
    void Release();
    size_t bytes() const { return bytes_; }

   private:
    friend class MemoryGate;
    Grant(MemoryGate* gate, size_t bytes) : gate_(gate), bytes_(bytes) {}
    MemoryGate* gate_ = nullptr;
    size_t bytes_ = 0;
  };

  explicit MemoryGate(size_t capacity_bytes) : capacity_(capacity_bytes), free_(capacity_bytes) {}

  // Blocks until turns 0 .. turn-1 were granted and `bytes` are free. Each turn must be asked
  // for once, or the later ones wait for ever. A request above the capacity is granted the
  // whole capacity (once everything else was given back): callers size their requests so that
  // this does not happen, and it still makes progress if it does.
  Grant Acquire(size_t bytes, uint64_t turn);
  size_t capacity() const { return capacity_; }
  // Bytes not granted now, and requests waiting (for tests).
  size_t free_bytes() const;
  size_t waiting() const;

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  size_t free_ ABSL_GUARDED_BY(mu_);
  uint64_t turn_ ABSL_GUARDED_BY(mu_) = 0;  // the turn granted next
  size_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_JOB_MEMORY_H_
