// How many cores this process may use: the CPUs it may run on (its affinity, as a cpuset gives
// a container), capped by a cgroup v2 CPU quota (a Kubernetes CPU limit), at least 1.
#ifndef SHARDSTREAM_SERVER_USABLE_CORES_H_
#define SHARDSTREAM_SERVER_USABLE_CORES_H_

#include "absl/strings/string_view.h"

namespace shardstream {

int UsableCores();
// The usable cores, at least 1 and at most `most`: how many threads one build (of a plan's
// selection, of an epoch layout) uses. A pod limited to 2 CPUs on a 64-core node builds on 2.
int ThreadsUpTo(int most);
// The cores a cgroup v2 `cpu.max` line ("QUOTA PERIOD", or "max PERIOD") allows, rounded up;
// 0 for no limit or a line it cannot read.
int CoresOfCpuMax(absl::string_view cpu_max);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_USABLE_CORES_H_
