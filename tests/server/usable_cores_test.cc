#include "server/usable_cores.h"

#include <sched.h>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

// cgroup v2 cpu.max lines: a quota rounds up to whole cores; "max" and unreadable lines are no
// limit (0).
TEST(UsableCores, CpuMaxQuotasRoundUpToCores) {
  EXPECT_EQ(CoresOfCpuMax("max 100000\n"), 0);
  EXPECT_EQ(CoresOfCpuMax("200000 100000\n"), 2);
  EXPECT_EQ(CoresOfCpuMax("150000 100000"), 2);
  EXPECT_EQ(CoresOfCpuMax("50000 100000"), 1);
  EXPECT_EQ(CoresOfCpuMax(""), 0);
  EXPECT_EQ(CoresOfCpuMax("100000"), 0);
  EXPECT_EQ(CoresOfCpuMax("0 100000"), 0);
  EXPECT_EQ(CoresOfCpuMax("x y"), 0);
}

// At least one, and no more than the CPUs this process may run on.
TEST(UsableCores, AreAtMostTheCpusOfTheAffinity) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_GE(UsableCores(), 1);
  EXPECT_LE(UsableCores(), CPU_COUNT(&set));
  // Pinned to one CPU (as a cpuset pins a container), one core.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      CPU_SET(cpu, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  EXPECT_EQ(UsableCores(), 1);
  EXPECT_EQ(ThreadsUpTo(8), 1);  // a build on one core uses one thread
  ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
  EXPECT_EQ(ThreadsUpTo(1), 1);
  EXPECT_EQ(ThreadsUpTo(1 << 20), UsableCores());
}

}  // namespace
}  // namespace shardstream
