#include "server/job_memory.h"

#include <algorithm>

namespace shardstream {

size_t ReaderMemoryBytes(size_t line_bytes) { return 3 * line_bytes + 4 * kMiB; }

CatalogOptions CatalogMemoryOf(size_t budget_bytes) {
  CatalogOptions catalog;
  catalog.write_buffer_bytes = budget_bytes / 8;
  catalog.block_cache_bytes = std::min(budget_bytes / 16, catalog.block_cache_bytes);
  return catalog;
}

size_t JobShareOf(size_t budget_bytes) { return budget_bytes / 16 * 13; }

size_t BudgetForJobShare(size_t job_bytes) {
  // The smallest multiple of a MiB whose JobShareOf is at least job_bytes.
  size_t mib = (job_bytes * 16 / 13 + kMiB - 1) / kMiB;
  while (JobShareOf(mib * kMiB) < job_bytes) ++mib;
  return mib * kMiB;
}

MemoryGate::Grant& MemoryGate::Grant::operator=(Grant&& other) noexcept {
  if (this != &other) {
    Release();
    gate_ = other.gate_;
    bytes_ = other.bytes_;
    other.gate_ = nullptr;
  }
  return *this;
}

void MemoryGate::Grant::Release() {
  if (gate_ == nullptr) return;
  absl::MutexLock lock(&gate_->mu_);
  gate_->free_ += bytes_;
  gate_->cv_.SignalAll();
  gate_ = nullptr;
}

MemoryGate::Grant MemoryGate::Acquire(size_t bytes, uint64_t turn) {
  bytes = std::min(bytes, capacity_);
  absl::MutexLock lock(&mu_);
  ++waiting_;
  while (turn_ != turn || free_ < bytes) cv_.Wait(&mu_);
  --waiting_;
  free_ -= bytes;
  ++turn_;
  cv_.SignalAll();  // the next request may fit too
  return Grant(this, bytes);
}

size_t MemoryGate::free_bytes() const {
  absl::MutexLock lock(&mu_);
  return free_;
}

size_t MemoryGate::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace shardstream
