// OriginalTable against a std::map model: texts whose hashes share their low bits (one probe
// run), growth past many rehashes, originals replaced, and forgetting the texts of a failed
// add.
#include "server/original_table.h"

#include <map>
#include <optional>
#include <random>

#include "gtest/gtest.h"

namespace shardstream {
namespace {

TEST(OriginalTable, KeepsEachTextsFirstIdLikeAMapThroughGrowthAndCollidingLowBits) {
  OriginalTable table;
  std::map<Hash128, uint64_t> model;
  std::mt19937_64 random(7);
  std::vector<Hash128> texts;
  for (int i = 0; i < 3000; ++i) {
    // A third share their low half with an earlier text: same first slot, other high half.
    const uint64_t lo =
        (i % 3 == 0 && !texts.empty()) ? texts[random() % texts.size()].lo : random();
    texts.push_back(Hash128{random(), lo});
  }
  for (uint64_t id = 0; id < 20000; ++id) {
    const Hash128& hash = texts[random() % texts.size()];
    const auto [it, first] = model.try_emplace(hash, id);
    OriginalTable::Found found = table.FindOrInsert(hash, id);
    EXPECT_EQ(found.inserted, first) << "document " << id;
    EXPECT_EQ(found.original, it->second) << "document " << id;
    if (first && id % 5 == 0) {
      // A text first seen in this run that the family already had: its stored original.
      it->second = id / 5;
      table.SetOriginal(hash, id / 5);
    }
  }
  EXPECT_EQ(table.size(), model.size());
  for (const Hash128& hash : texts) {
    auto it = model.find(hash);
    EXPECT_EQ(table.Find(hash), it == model.end() ? std::nullopt : std::optional(it->second));
  }
  EXPECT_EQ(table.Find(Hash128{1, 2}), std::nullopt);
  EXPECT_GE(table.memory_bytes(), 2 * table.size() * sizeof(Hash128));
}

TEST(OriginalTable, EraseFromForgetsLaterOriginalsAndKeepsEarlierOnesFindable) {
  OriginalTable table;
  std::map<Hash128, uint64_t> model;
  for (uint64_t id = 0; id < 500; ++id) {
    // Low halves from 0 to 49: ten texts per first slot, long probe runs to break.
    const Hash128 hash{id * 7919, id % 50};
    model.emplace(hash, id);
    ASSERT_TRUE(table.FindOrInsert(hash, id).inserted);
  }
  table.EraseFrom(250);
  EXPECT_EQ(table.size(), 250u);
  for (const auto& [hash, id] : model) {
    EXPECT_EQ(table.Find(hash), id < 250 ? std::optional(id) : std::nullopt) << id;
  }
  // An erased text is new again.
  EXPECT_TRUE(table.FindOrInsert(Hash128{300 * 7919, 300 % 50}, 900).inserted);
  table.Clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.memory_bytes(), 0u);
  EXPECT_EQ(table.Find(Hash128{0, 0}), std::nullopt);
}

}  // namespace
}  // namespace shardstream
