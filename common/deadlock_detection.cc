#include "common/deadlock_detection.h"

#include "absl/synchronization/mutex.h"

namespace shardstream {

void SkipMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace shardstream
