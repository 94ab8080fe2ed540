// How much memory this process could still fill (with page cache and its own data): the
// kernel's MemAvailable, capped by what a cgroup v2 memory limit (a Kubernetes memory limit)
// leaves.
#ifndef SHARDSTREAM_SERVER_USABLE_MEMORY_H_
#define SHARDSTREAM_SERVER_USABLE_MEMORY_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace shardstream {

// Bytes; 0 when /proc/meminfo cannot be read.
uint64_t UsableMemoryBytes();
// MemAvailable of a /proc/meminfo text, in bytes; 0 when it has none.
uint64_t MemAvailableOfMeminfo(absl::string_view meminfo);
// What a cgroup v2 `memory.max` ("max" or bytes) leaves above `memory.current`; UINT64_MAX for
// no limit or a value it cannot read.
uint64_t CgroupMemoryLeft(absl::string_view memory_max, absl::string_view memory_current);

}  // namespace shardstream

#endif  // SHARDSTREAM_SERVER_USABLE_MEMORY_H_
