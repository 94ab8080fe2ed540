#include "server/usable_memory.h"

#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

TEST(UsableMemory, MemAvailableIsReadFromMeminfoInBytes) {
  EXPECT_EQ(MemAvailableOfMeminfo("MemTotal:       24683664 kB\n"
                                  "MemFree:        22748520 kB\n"
                                  "MemAvailable:   23998464 kB\n"
                                  "Buffers:          101080 kB\n"),
            uint64_t{23998464} << 10);
  EXPECT_EQ(MemAvailableOfMeminfo("MemTotal:       24683664 kB\n"), 0u);
  EXPECT_EQ(MemAvailableOfMeminfo("MemAvailable: lots\n"), 0u);
  EXPECT_EQ(MemAvailableOfMeminfo(""), 0u);
}

// A cgroup v2 limit leaves its max less what the group uses; "max" is no limit.
TEST(UsableMemory, CgroupLimitLeavesMaxLessCurrent) {
  constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(CgroupMemoryLeft("1073741824\n", "268435456\n"), uint64_t{805306368});
  EXPECT_EQ(CgroupMemoryLeft("1000\n", "4000\n"), 0u);  // over its limit: nothing left
  EXPECT_EQ(CgroupMemoryLeft("max\n", "268435456\n"), kNoLimit);
  EXPECT_EQ(CgroupMemoryLeft("", ""), kNoLimit);  // no cgroup v2 files
}

// This machine's: some memory, and no more than it has.
TEST(UsableMemory, IsSomeAndAtMostTheMachinesMemory) {
  std::ifstream meminfo("/proc/meminfo");
  std::string name, unit;
  uint64_t total_kib = 0;
  ASSERT_TRUE(meminfo >> name >> total_kib >> unit);
  ASSERT_EQ(name, "MemTotal:");
  const uint64_t usable = UsableMemoryBytes();
  EXPECT_GT(usable, 0u);
  EXPECT_LE(usable, total_kib << 10);
}

}  // namespace
}  // namespace shardstream
