#include "tacc/lru_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace tacc::tacc_layer {
namespace {

struct Blob {
  std::string bytes;
  size_t size_bytes() const { return bytes.size(); }
};

std::shared_ptr<const Blob> MakeBlob(size_t n, char fill = 'x') { return std::make_shared<const Blob>(Blob{std::string(n, fill)}); }

// Budget arithmetic in the tests is simpler with a known overhead.
LruStoreOptions Options(size_t budget, size_t overhead = 10, size_t max_entry = 0) {
  LruStoreOptions o;
  o.budget_bytes = budget;
  o.per_entry_overhead_bytes = overhead;
  o.max_entry_bytes = max_entry;
  return o;
}

std::vector<std::string> KeysByRecency(const LruStore<Blob>& store) {
  std::vector<std::string> keys;
  store.ForEachByRecency([&](std::string_view k, const auto&) { keys.emplace_back(k); });
  return keys;
}

TEST(LruStoreTest, ChargesKeyValueAndOverhead) {
  LruStore<Blob> store(Options(1000));
  EXPECT_EQ(store.Put("abc", MakeBlob(100)), PutResult::kStored);
  EXPECT_EQ(store.bytes(), 3u + 100u + 10u);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.Put("de", MakeBlob(50)), PutResult::kStored);
  EXPECT_EQ(store.bytes(), 113u + 62u);
  EXPECT_EQ(store.counters().bytes, store.bytes());
  EXPECT_EQ(store.counters().entries, 2u);
}

TEST(LruStoreTest, GetReturnsTheValueAndCountsHitsAndMisses) {
  LruStore<Blob> store(Options(1000));
  auto blob = MakeBlob(5, 'q');
  ASSERT_TRUE(Stored(store.Put("k", blob)));
  auto got = store.Get("k");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->bytes, "qqqqq");
  EXPECT_EQ(got.get(), blob.get());
  EXPECT_EQ(store.Get("nope"), nullptr);
  EXPECT_EQ(store.counters().hits, 1u);
  EXPECT_EQ(store.counters().misses, 1u);
}

TEST(LruStoreTest, EvictsLeastRecentlyUsedFirst) {
  // Each entry: 1 (key) + 20 + 10 = 31 bytes; budget for three.
  LruStore<Blob> store(Options(93));
  ASSERT_TRUE(Stored(store.Put("a", MakeBlob(20))));
  ASSERT_TRUE(Stored(store.Put("b", MakeBlob(20))));
  ASSERT_TRUE(Stored(store.Put("c", MakeBlob(20))));
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"c", "b", "a"}));
  ASSERT_NE(store.Get("a"), nullptr);  // a is now the most recent; b the least
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"a", "c", "b"}));
  ASSERT_TRUE(Stored(store.Put("d", MakeBlob(20))));
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"d", "a", "c"}));
  EXPECT_EQ(store.Peek("b"), nullptr);
  EXPECT_EQ(store.counters().evictions, 1u);
  EXPECT_EQ(store.counters().evicted_bytes, 31u);
  EXPECT_EQ(store.bytes(), 93u);
}

TEST(LruStoreTest, EvictsAsManyAsNeededForABigEntry) {
  LruStore<Blob> store(Options(100));
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(Stored(store.Put(k, MakeBlob(20))));  // 31 each
  ASSERT_TRUE(Stored(store.Put("big", MakeBlob(50))));                                    // 63
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"big", "c"}));
  EXPECT_EQ(store.counters().evictions, 2u);
  EXPECT_EQ(store.bytes(), 94u);
  EXPECT_LE(store.bytes(), store.budget_bytes());
}

TEST(LruStoreTest, ReplacingAccountsTheNewSizeOnly) {
  LruStore<Blob> store(Options(1000));
  ASSERT_EQ(store.Put("k", MakeBlob(100)), PutResult::kStored);
  ASSERT_EQ(store.Put("other", MakeBlob(10)), PutResult::kStored);
  EXPECT_EQ(store.Put("k", MakeBlob(30, 'n')), PutResult::kReplaced);
  EXPECT_EQ(store.bytes(), (1u + 30u + 10u) + (5u + 10u + 10u));
  EXPECT_EQ(store.entries(), 2u);
  EXPECT_EQ(store.Peek("k")->bytes, std::string(30, 'n'));
  EXPECT_EQ(KeysByRecency(store).front(), "k");  // a replacement is a use
  EXPECT_EQ(store.counters().puts, 3u);
  EXPECT_EQ(store.counters().replacements, 1u);
  EXPECT_EQ(store.counters().evictions, 0u);
}

TEST(LruStoreTest, ReplacementThatNeedsRoomEvictsOthersNotItself) {
  LruStore<Blob> store(Options(100));
  ASSERT_TRUE(Stored(store.Put("a", MakeBlob(20))));              // 31
  ASSERT_TRUE(Stored(store.Put("b", MakeBlob(20))));              // 31
  EXPECT_EQ(store.Put("a", MakeBlob(60)), PutResult::kReplaced);  // 71: 31 + 71 > 100, b goes
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"a"}));
  EXPECT_EQ(store.bytes(), 71u);
  EXPECT_EQ(store.counters().evictions, 1u);
}

TEST(LruStoreTest, RefusesAnEntryLargerThanTheBudget) {
  LruStore<Blob> store(Options(100));
  ASSERT_TRUE(Stored(store.Put("keep", MakeBlob(10))));
  EXPECT_EQ(store.Put("huge", MakeBlob(200)), PutResult::kRefusedOverBudget);
  EXPECT_EQ(store.Peek("huge"), nullptr);
  EXPECT_NE(store.Peek("keep"), nullptr);  // nothing evicted for a refused entry
  EXPECT_EQ(store.counters().refusals, 1u);
  EXPECT_EQ(store.counters().evictions, 0u);
  // Exactly the budget fits (and evicts everything else).
  EXPECT_EQ(store.Put("fit", MakeBlob(100 - 3 - 10)), PutResult::kStored);
  EXPECT_EQ(store.bytes(), 100u);
  EXPECT_EQ(store.entries(), 1u);
}

TEST(LruStoreTest, RefusesAnEntryOverThePerEntryLimit) {
  LruStore<Blob> store(Options(1000, 10, 50));
  EXPECT_EQ(store.Put("k", MakeBlob(40)), PutResult::kRefusedOverEntryLimit);  // 51
  EXPECT_EQ(store.Put("k", MakeBlob(39)), PutResult::kStored);                 // 50
  EXPECT_EQ(PutResultName(PutResult::kRefusedOverEntryLimit), "refused-over-entry-limit");
}

TEST(LruStoreTest, ARefusedReplacementDropsTheOutdatedEntry) {
  LruStore<Blob> store(Options(100));
  ASSERT_TRUE(Stored(store.Put("k", MakeBlob(10))));
  EXPECT_EQ(store.Put("k", MakeBlob(500)), PutResult::kRefusedOverBudget);
  EXPECT_EQ(store.Peek("k"), nullptr);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.entries(), 0u);
  EXPECT_EQ(store.Put("k", nullptr), PutResult::kRefusedNull);
}

TEST(LruStoreTest, EraseFreesTheCharge) {
  LruStore<Blob> store(Options(1000));
  ASSERT_TRUE(Stored(store.Put("a", MakeBlob(10))));
  ASSERT_TRUE(Stored(store.Put("b", MakeBlob(20))));
  EXPECT_TRUE(store.Erase("a"));
  EXPECT_FALSE(store.Erase("a"));
  EXPECT_EQ(store.bytes(), 31u);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.counters().erases, 1u);
  EXPECT_EQ(store.Get("a"), nullptr);
}

TEST(LruStoreTest, PeekDoesNotTouchRecencyOrCounters) {
  LruStore<Blob> store(Options(1000));
  ASSERT_TRUE(Stored(store.Put("a", MakeBlob(1))));
  ASSERT_TRUE(Stored(store.Put("b", MakeBlob(1))));
  EXPECT_NE(store.Peek("a"), nullptr);
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(store.counters().hits, 0u);
  EXPECT_EQ(store.counters().misses, 0u);
}

TEST(LruStoreTest, AValueOutlivesItsEviction) {
  LruStore<Blob> store(Options(40));
  ASSERT_TRUE(Stored(store.Put("a", MakeBlob(20, 'a'))));
  auto held = store.Get("a");
  ASSERT_TRUE(Stored(store.Put("b", MakeBlob(20, 'b'))));  // evicts a
  EXPECT_EQ(store.Peek("a"), nullptr);
  EXPECT_EQ(held->bytes, std::string(20, 'a'));
}

TEST(LruStoreTest, ShrinkingTheBudgetEvicts) {
  LruStore<Blob> store(Options(1000));
  for (const char* k : {"a", "b", "c", "d"}) ASSERT_TRUE(Stored(store.Put(k, MakeBlob(20))));  // 31 each
  store.SetBudget(62);
  EXPECT_EQ(KeysByRecency(store), (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(store.counters().evictions, 2u);
  store.SetBudget(0);
  EXPECT_EQ(store.entries(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(LruStoreTest, ManyOperationsKeepTheAccountingExact) {
  LruStore<Blob> store(Options(5000));
  for (int i = 0; i < 2000; ++i) {
    std::string key = "k" + std::to_string(i % 97);
    switch (i % 5) {
      case 0:
      case 1:
      case 2:
        (void)store.Put(key, MakeBlob(static_cast<size_t>(i % 300)));
        break;
      case 3:
        (void)store.Get(key);
        break;
      case 4:
        (void)store.Erase(key);
        break;
    }
    size_t sum = 0, n = 0;
    store.ForEachByRecency([&](std::string_view k, const auto& v) {
      sum += store.ChargeOf(k, *v);
      ++n;
    });
    ASSERT_EQ(sum, store.bytes()) << "after op " << i;
    ASSERT_EQ(n, store.entries());
    ASSERT_LE(store.bytes(), store.budget_bytes());
  }
}

}  // namespace
}  // namespace tacc::tacc_layer
