#include "server/job_memory.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "server/tokenize_job.h"

namespace shardstream {
namespace {

TEST(JobMemory, TheLeastBudgetForAJobShareIsTheSmallestWholeMiBThatHoldsIt) {
  for (size_t job : {size_t{1}, kMiB, 11 * kMiB, 11 * kMiB + 1, 1000 * kMiB + 12345}) {
    const size_t budget = BudgetForJobShare(job);
    EXPECT_EQ(budget % kMiB, 0u);
    EXPECT_GE(JobShareOf(budget), job) << job;
    EXPECT_LT(JobShareOf(budget - kMiB), job) << job;
    // What the catalog is given and the job's share add up to no more than the budget.
    const CatalogOptions catalog = CatalogMemoryOf(budget);
    EXPECT_LE(catalog.write_buffer_bytes + catalog.block_cache_bytes + JobShareOf(budget), budget);
  }
}

// Spins until `gate` has a request waiting or `done` is set; true for the former.
bool UntilWaitingOrDone(const MemoryGate& gate, const std::atomic<bool>& done) {
  while (gate.waiting() == 0 && !done.load()) std::this_thread::yield();
  return !done.load();
}

TEST(JobMemory, AGateGrantsInTurnsAndOnlyWhatIsFree) {
  MemoryGate gate(100);
  // Turn 1 cannot go before turn 0, even though its bytes are free.
  std::atomic<bool> second_granted{false};
  MemoryGate::Grant second;
  std::thread waits_for_its_turn([&] {
    second = gate.Acquire(30, /*turn=*/1);
    second_granted = true;
  });
  ASSERT_TRUE(UntilWaitingOrDone(gate, second_granted));
  MemoryGate::Grant first = gate.Acquire(60, /*turn=*/0);
  waits_for_its_turn.join();
  EXPECT_EQ(gate.free_bytes(), 10u);

  // Turn 2 wants 50: it waits until the first grant is given back.
  std::atomic<bool> third_granted{false};
  std::thread waits_for_bytes([&] {
    MemoryGate::Grant third = gate.Acquire(50, /*turn=*/2);
    third_granted = true;
    EXPECT_EQ(gate.free_bytes(), 20u);
  });
  ASSERT_TRUE(UntilWaitingOrDone(gate, third_granted));
  first.Release();
  waits_for_bytes.join();
  EXPECT_TRUE(third_granted);
  EXPECT_EQ(gate.free_bytes(), 70u);  // the third grant went back when it was destroyed

  // More than the capacity is granted as the whole capacity, once everything is back.
  second.Release();
  MemoryGate::Grant all = gate.Acquire(1000, /*turn=*/3);
  EXPECT_EQ(all.bytes(), 100u);
  EXPECT_EQ(gate.free_bytes(), 0u);
}

TEST(JobMemory, AFileNeedsMemoryForItsLongestLineAndDocumentNotForItsSize) {
  v1::FileRecord small_docs;
  small_docs.set_num_docs(1000);
  small_docs.set_text_bytes(500 * kMiB);
  small_docs.set_decoded_bytes(600 * kMiB);
  small_docs.set_max_line_bytes(64 * kMiB);
  small_docs.set_longest_line_bytes(kMiB);
  small_docs.set_longest_doc_bytes(kMiB / 2);
  const size_t small = TokenizeOptions::FileBytes(small_docs);
  EXPECT_LT(small, 64 * kMiB);
  EXPECT_GE(small, ReaderMemoryBytes(kMiB) + TokenizeOptions::kEncodeBytesPerTextByte * kMiB / 2);

  // A record from before the longest line and document were kept: as long as the file allows.
  v1::FileRecord unknown = small_docs;
  unknown.clear_longest_line_bytes();
  unknown.clear_longest_doc_bytes();
  EXPECT_GE(TokenizeOptions::FileBytes(unknown),
            ReaderMemoryBytes(64 * kMiB) + TokenizeOptions::kEncodeBytesPerTextByte * 64 * kMiB);
  unknown.set_decoded_bytes(2 * kMiB);
  unknown.set_text_bytes(kMiB);
  EXPECT_LT(TokenizeOptions::FileBytes(unknown), 64 * kMiB);

  // A line skipped as too long still grew the reader's buffer to the limit.
  v1::FileRecord skipped = small_docs;
  skipped.add_bad_lines()->set_kind(v1::BAD_LINE_TOO_LONG);
  EXPECT_GE(TokenizeOptions::FileBytes(skipped), ReaderMemoryBytes(64 * kMiB));
}

}  // namespace
}  // namespace shardstream
