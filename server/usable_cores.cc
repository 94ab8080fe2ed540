#include "server/usable_cores.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace shardstream {

int CoresOfCpuMax(absl::string_view cpu_max) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(cpu_max, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
  uint64_t quota = 0, period = 0;
  if (fields.size() != 2 || !absl::SimpleAtoi(fields[0], &quota) ||
      !absl::SimpleAtoi(fields[1], &period) || quota == 0 || period == 0) {
    return 0;  // "max": no limit
  }
  return static_cast<int>(std::min<uint64_t>((quota + period - 1) / period, 1 << 20));
}

int UsableCores() {
  cpu_set_t set;
  int cores = sched_getaffinity(0, sizeof(set), &set) == 0
                  ? CPU_COUNT(&set)
                  : static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string line;
  if (in && std::getline(in, line)) {
    if (const int limit = CoresOfCpuMax(line); limit > 0) cores = std::min(cores, limit);
  }
  return std::max(cores, 1);
}

int ThreadsUpTo(int most) { return std::clamp(UsableCores(), 1, std::max(most, 1)); }

}  // namespace shardstream
