// LARD (frontdoor/lard_policy.h): targets stay on their back end until it is overloaded,
// with the paper's thresholds checked exactly at their edges.
#include "frontdoor/lard_policy.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using testing::Client;
using testing::Pool;

constexpr int64_t kIdle = 30;       // T_low (frontdoor.lard_idle's default)
constexpr int64_t kOverload = 130;  // T_high

std::string PickFor(LardPolicy& p, Pool& pool, std::string_view target) {
  return pool.Id(p.Pick(pool.candidates(), Client("10.0.0.1", 1, target)));
}

TEST(FrontdoorLardTest, ANewTargetGoesToTheLeastLoadedAndStaysThere) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b", "c"});
  pool["a"].active = 10;
  pool["b"].active = 4;
  pool["c"].active = 7;
  EXPECT_EQ(PickFor(p, pool, "/x"), "b");
  pool["b"].active = 100;  // busier than the others, but not overloaded
  EXPECT_EQ(PickFor(p, pool, "/x"), "b");
  EXPECT_EQ(PickFor(p, pool, "/y"), "c");
  EXPECT_EQ(PickFor(p, pool, "/x"), "b");
  EXPECT_EQ(p.targets(), 2u);
}

TEST(FrontdoorLardTest, MovesOverTHighOnlyWhileAnotherIsUnderTLow) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b", "c"});
  pool["b"].active = 1;
  pool["c"].active = 2;
  ASSERT_EQ(PickFor(p, pool, "/t"), "a");

  pool["a"].active = kOverload;  // at T_high, not over it
  pool["b"].active = kIdle - 1;
  pool["c"].active = kIdle + 5;
  EXPECT_EQ(PickFor(p, pool, "/t"), "a");

  pool["a"].active = kOverload + 1;  // over T_high, but nobody is under T_low
  pool["b"].active = kIdle;
  EXPECT_EQ(PickFor(p, pool, "/t"), "a");

  pool["b"].active = kIdle - 1;  // over T_high and b is idle: move to the least loaded
  EXPECT_EQ(PickFor(p, pool, "/t"), "b");
  pool["a"].active = 0;  // and stay there: no moving back
  EXPECT_EQ(PickFor(p, pool, "/t"), "b");
}

TEST(FrontdoorLardTest, MovesAtTwiceTHighWhateverTheOthers) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b"});
  pool["b"].active = 1;
  ASSERT_EQ(PickFor(p, pool, "/t"), "a");
  pool["a"].active = 2 * kOverload - 1;
  pool["b"].active = 200;
  EXPECT_EQ(PickFor(p, pool, "/t"), "a");
  pool["a"].active = 2 * kOverload;
  EXPECT_EQ(PickFor(p, pool, "/t"), "b");
  // Everyone at 2 T_high: the least loaded is where it already is.
  pool["a"].active = 2 * kOverload;
  pool["b"].active = 2 * kOverload + 10;
  EXPECT_EQ(PickFor(p, pool, "/t"), "a");
}

TEST(FrontdoorLardTest, ATargetWhoseBackEndLeftIsPlacedAfreshAndStaysWhenItReturns) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b", "c"});
  pool["b"].active = pool["c"].active = 5;
  ASSERT_EQ(PickFor(p, pool, "/t"), "a");
  pool.Remove("a");
  pool["b"].active = 9;
  EXPECT_EQ(PickFor(p, pool, "/t"), "c");
  pool.Add("a");
  EXPECT_EQ(PickFor(p, pool, "/t"), "c") << "the new place is remembered";
}

TEST(FrontdoorLardTest, NewTargetsOfAnIdleClusterSpreadEvenly) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b", "c", "d"});
  std::map<std::string, int> counts;
  for (int i = 0; i < 1000; ++i) ++counts[PickFor(p, pool, "/object/" + std::to_string(i))];
  for (auto& [id, n] : counts) EXPECT_EQ(n, 250) << id;
  // Asked again, each target answers where it was put.
  LardPolicy q(kIdle, kOverload, 2);
  std::map<std::string, std::string> first;
  for (int i = 0; i < 100; ++i) first[std::to_string(i)] = PickFor(q, pool, std::to_string(i));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(PickFor(q, pool, std::to_string(i)), first[std::to_string(i)]);
}

TEST(FrontdoorLardTest, TheTargetMapIsBoundedForgettingTheLeastRecentlyRequested) {
  LardPolicy p(kIdle, kOverload, 1, /*max_targets=*/3);
  Pool pool({"a", "b", "c"});
  EXPECT_EQ(PickFor(p, pool, "/1"), "a");
  EXPECT_EQ(PickFor(p, pool, "/2"), "b");
  EXPECT_EQ(PickFor(p, pool, "/3"), "c");
  EXPECT_EQ(PickFor(p, pool, "/1"), "a");  // /1 used again: /2 is now the oldest
  EXPECT_EQ(PickFor(p, pool, "/4"), "a");  // round-robin tie-break: after c comes a
  EXPECT_EQ(p.targets(), 3u);
  // /2 was forgotten: it is placed afresh (the rotation's next: b), /1 and /3 kept.
  EXPECT_EQ(PickFor(p, pool, "/2"), "b");
  EXPECT_EQ(PickFor(p, pool, "/1"), "a");
  EXPECT_EQ(p.targets(), 3u);
}

TEST(FrontdoorLardTest, NoTargetMeansLeastConnections) {
  LardPolicy p(kIdle, kOverload, 1);
  Pool pool({"a", "b", "c"});
  pool["a"].active = 2;
  EXPECT_EQ(PickFor(p, pool, ""), "b");
  EXPECT_EQ(PickFor(p, pool, ""), "c");
  EXPECT_EQ(PickFor(p, pool, ""), "b");
  EXPECT_EQ(p.targets(), 0u);
}

}  // namespace
}  // namespace tacc::frontdoor
