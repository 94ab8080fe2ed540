#include "server/usable_memory.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace shardstream {
namespace {

std::string ReadText(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

uint64_t MemAvailableOfMeminfo(absl::string_view meminfo) {
  for (absl::string_view line : absl::StrSplit(meminfo, '\n')) {
    if (!absl::ConsumePrefix(&line, "MemAvailable:")) continue;
    line = absl::StripAsciiWhitespace(line);
    uint64_t kib = 0;
    if (!absl::ConsumeSuffix(&line, "kB")) return 0;
    return absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &kib) ? kib << 10 : 0;
  }
  return 0;
}

uint64_t CgroupMemoryLeft(absl::string_view memory_max, absl::string_view memory_current) {
  constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
  uint64_t max = 0, current = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(memory_max), &max) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(memory_current), &current)) {
    return kNoLimit;  // "max": no limit
  }
  return max > current ? max - current : 0;
}

uint64_t UsableMemoryBytes() {
  const uint64_t available = MemAvailableOfMeminfo(ReadText("/proc/meminfo"));
  return std::min(available, CgroupMemoryLeft(ReadText("/sys/fs/cgroup/memory.max"),
                                              ReadText("/sys/fs/cgroup/memory.current")));
}

}  // namespace shardstream
