// Debian 12's Abseil is built in debug mode, where every absl::Mutex::Lock (ours, and gRPC's:
// grpc_core::Mutex is an absl::Mutex) also updates a process-wide lock-order graph to detect
// deadlocks. That is ~3.5x the cost of an uncontended lock pair (84 vs 24 ns on this project's
// machines) and a few percent of a server's CPU. Production processes switch it off at start
// (the CLI, the Python module, the benchmarks that measure them); tests keep it, as do
// programs that link the libraries and do not call this.
#ifndef SHARDSTREAM_COMMON_DEADLOCK_DETECTION_H_
#define SHARDSTREAM_COMMON_DEADLOCK_DETECTION_H_

namespace shardstream {

// Call at the start of the process (a module: when it is loaded), before its mutexes are used.
void SkipMutexDeadlockDetection();

}  // namespace shardstream

#endif  // SHARDSTREAM_COMMON_DEADLOCK_DETECTION_H_
