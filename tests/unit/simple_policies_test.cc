// The survey's simple policies (frontdoor/simple_policies.h), and through them the
// Rotation they share.
#include "frontdoor/simple_policies.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using testing::Client;
using testing::NthClient;
using testing::Pool;

std::string Sequence(PickPolicy& p, Pool& pool, int n, const PickContext& ctx = {}) {
  std::string out;
  for (int i = 0; i < n; ++i) out += pool.Id(p.Pick(pool.candidates(), ctx));
  return out;
}

std::map<std::string, int> Counts(PickPolicy& p, Pool& pool, int n, const PickContext& ctx = {}) {
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) ++counts[pool.Id(p.Pick(pool.candidates(), ctx))];
  return counts;
}

// ---- round_robin ----

TEST(FrontdoorRoundRobinTest, TakesTurnsInIdOrder) {
  auto p = MakeRoundRobinPolicy();
  Pool pool({"c", "a", "b"});  // the candidates' order does not matter
  EXPECT_EQ(Sequence(*p, pool, 7), "abcabca");
}

TEST(FrontdoorRoundRobinTest, ABackEndLeavingOrJoiningNeitherRestartsNorSkips) {
  auto p = MakeRoundRobinPolicy();
  Pool pool({"a", "b", "c", "d"});
  EXPECT_EQ(Sequence(*p, pool, 2), "ab");
  pool.Remove("c");
  EXPECT_EQ(Sequence(*p, pool, 1), "d") << "after b comes d once c is gone";
  pool.Add("c");
  EXPECT_EQ(Sequence(*p, pool, 5), "abcda");
  pool.Remove("a");  // the last one chosen leaves: its successor is next
  EXPECT_EQ(Sequence(*p, pool, 3), "bcd");
  pool.Add("e");
  pool.Add("a");
  EXPECT_EQ(Sequence(*p, pool, 5), "eabcd");
}

// ---- random ----

TEST(FrontdoorRandomTest, UniformAndReproducibleFromItsSeed) {
  Pool pool({"a", "b", "c", "d"});
  auto p = MakeRandomPolicy(42);
  auto counts = Counts(*p, pool, 40000);
  ASSERT_EQ(counts.size(), 4u);
  for (auto& [id, n] : counts) EXPECT_NEAR(n, 10000, 400) << id;
  auto q1 = MakeRandomPolicy(7), q2 = MakeRandomPolicy(7), q3 = MakeRandomPolicy(8);
  std::string s1 = Sequence(*q1, pool, 40), s2 = Sequence(*q2, pool, 40), s3 = Sequence(*q3, pool, 40);
  EXPECT_EQ(s1, s2);
  EXPECT_NE(s1, s3);
}

// ---- least_connections ----

TEST(FrontdoorLeastConnectionsTest, FewestOpenWithTiesTakingTurns) {
  auto p = MakeLeastConnectionsPolicy();
  Pool pool({"a", "b", "c", "d"});
  pool["a"].active = 1;
  pool["b"].active = 0;
  pool["c"].active = 0;
  pool["d"].active = 5;
  EXPECT_EQ(Sequence(*p, pool, 5), "bcbcb");
  pool["c"].active = 3;
  EXPECT_EQ(Sequence(*p, pool, 2), "bb");
  pool["b"].active = 7;
  EXPECT_EQ(Sequence(*p, pool, 1), "a");
}

TEST(FrontdoorLeastConnectionsTest, SpreadsAnIdleClusterWhenTheCallerCountsItsConnections) {
  auto p = MakeLeastConnectionsPolicy();
  Pool pool({"a", "b", "c"});
  for (int i = 0; i < 30; ++i) {
    auto got = p->Pick(pool.candidates(), {});
    ASSERT_TRUE(got);
    ++pool.candidates()[*got].active;
  }
  for (auto& c : pool.candidates()) EXPECT_EQ(c.active, 10) << c.id;
}

// ---- weighted (smooth weighted round robin) ----

TEST(FrontdoorWeightedTest, NginxSmoothSequence) {
  auto p = MakeWeightedPolicy();
  Pool pool({"a", "b", "c"}, {5, 1, 1});
  EXPECT_EQ(Sequence(*p, pool, 14), "aabacaaaabacaa");
}

TEST(FrontdoorWeightedTest, DoesNotDependOnTheCandidatesOrder) {
  auto p = MakeWeightedPolicy();
  Pool pool({"c", "b", "a"}, {1, 1, 5});
  EXPECT_EQ(Sequence(*p, pool, 7), "aabacaa");
}

TEST(FrontdoorWeightedTest, SharesFollowWeightsAcrossChangesOfTheSet) {
  auto p = MakeWeightedPolicy();
  Pool pool({"a", "b", "c"}, {2, 1, 1});
  auto counts = Counts(*p, pool, 400);
  EXPECT_EQ(counts["a"], 200);
  EXPECT_EQ(counts["b"], 100);
  EXPECT_EQ(counts["c"], 100);
  Sequence(*p, pool, 3);  // leave the counters mid-cycle
  pool.Remove("c");
  counts = Counts(*p, pool, 300);
  EXPECT_NEAR(counts["a"], 200, 2);
  EXPECT_NEAR(counts["b"], 100, 2);
  pool.Add("d", 3);
  counts = Counts(*p, pool, 600);
  EXPECT_NEAR(counts["a"], 200, 3);
  EXPECT_NEAR(counts["b"], 100, 3);
  EXPECT_NEAR(counts["d"], 300, 3);
}

TEST(FrontdoorWeightedTest, AJoinerIsInterleavedNotBurst) {
  auto p = MakeWeightedPolicy();
  Pool pool({"a", "b"});
  Sequence(*p, pool, 11);
  pool.Add("c");
  std::string s = Sequence(*p, pool, 30);
  EXPECT_EQ(s.find("cc"), std::string::npos) << s;
}

// ---- fastest_response ----

TEST(FrontdoorFastestResponseTest, LowestTimeWins) {
  auto p = MakeFastestResponsePolicy();
  Pool pool({"a", "b", "c"});
  pool["a"].response_ms = 5;
  pool["b"].response_ms = 2;
  pool["c"].response_ms = 9;
  EXPECT_EQ(Sequence(*p, pool, 3), "bbb");
  pool["a"].response_ms = 2;
  pool["b"].active = 4;
  pool["a"].active = 3;
  EXPECT_EQ(Sequence(*p, pool, 1), "a") << "equal times: fewer open wins";
}

TEST(FrontdoorFastestResponseTest, AnUnknownTimeIsLearnedOneConnectionAtATime) {
  auto p = MakeFastestResponsePolicy();
  Pool pool({"a", "b", "c"});
  pool["a"].response_ms = 5;
  pool["b"].response_ms = 2;
  // c is new: tried first ...
  EXPECT_EQ(Sequence(*p, pool, 1), "c");
  // ... but not again while that first connection is open.
  pool["c"].active = 1;
  EXPECT_EQ(Sequence(*p, pool, 2), "bb");
  pool["c"].response_ms = 1;
  EXPECT_EQ(Sequence(*p, pool, 1), "c");
}

TEST(FrontdoorFastestResponseTest, NothingKnownAndAllBusyMeansFewestOpen) {
  auto p = MakeFastestResponsePolicy();
  Pool pool({"a", "b", "c"});
  pool["a"].active = 3;
  pool["b"].active = 1;
  pool["c"].active = 2;
  EXPECT_EQ(Sequence(*p, pool, 2), "bb");
  // Several new ones with nothing open: they take turns at being probed.
  Pool fresh({"x", "y"});
  EXPECT_EQ(Sequence(*p, fresh, 4), "xyxy");
}

// ---- source_hash ----

std::map<int, std::string> Assign(PickPolicy& p, Pool& pool, int clients) {
  std::map<int, std::string> out;
  for (int i = 0; i < clients; ++i) out[i] = pool.Id(p.Pick(pool.candidates(), Client(NthClient(i), static_cast<uint16_t>(1024 + i))));
  return out;
}

TEST(FrontdoorSourceHashTest, AClientAlwaysGetsTheSameBackEndOnEveryDispatcher) {
  auto p = MakeSourceHashPolicy(), other = MakeSourceHashPolicy();
  Pool pool({"10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80", "10.1.0.4:80"});
  auto first = pool.Id(p->Pick(pool.candidates(), Client("198.51.100.20", 1111)));
  for (uint16_t port : {1112, 40000, 65535}) EXPECT_EQ(pool.Id(p->Pick(pool.candidates(), Client("198.51.100.20", port))), first);
  EXPECT_EQ(pool.Id(other->Pick(pool.candidates(), Client("198.51.100.20", 5))), first) << "stateless: another dispatcher agrees";
  EXPECT_EQ(pool.Id(p->Pick(pool.candidates(), Client("::ffff:198.51.100.20", 5))), first) << "dual-stack socket's view of the client";
  std::reverse(pool.candidates().begin(), pool.candidates().end());
  EXPECT_EQ(pool.Id(p->Pick(pool.candidates(), Client("198.51.100.20", 5))), first) << "the candidates' order does not matter";
}

TEST(FrontdoorSourceHashTest, RemovingABackEndMovesOnlyItsClients) {
  auto p = MakeSourceHashPolicy();
  Pool pool({"a:1", "b:1", "c:1", "d:1", "e:1"});
  auto before = Assign(*p, pool, 5000);
  pool.Remove("c:1");
  auto after = Assign(*p, pool, 5000);
  int moved = 0, had_c = 0;
  std::map<std::string, int> c_went_to;
  for (int i = 0; i < 5000; ++i) {
    if (before[i] == "c:1") {
      ++had_c;
      ++c_went_to[after[i]];
    } else {
      moved += before[i] != after[i];
    }
  }
  EXPECT_EQ(moved, 0);
  EXPECT_NEAR(had_c, 1000, 120);
  EXPECT_EQ(c_went_to.size(), 4u) << "c's clients spread over the others";
  pool.Add("c:1");
  EXPECT_EQ(Assign(*p, pool, 5000), before) << "it comes back: its clients return, nobody else moves";
}

TEST(FrontdoorSourceHashTest, SharesFollowWeights) {
  auto p = MakeSourceHashPolicy();
  Pool pool({"a", "b", "c"}, {1, 2, 3});
  std::map<std::string, int> counts;
  for (auto& [i, id] : Assign(*p, pool, 30000)) ++counts[id];
  EXPECT_NEAR(counts["a"], 5000, 300);
  EXPECT_NEAR(counts["b"], 10000, 400);
  EXPECT_NEAR(counts["c"], 15000, 400);
}

// ---- load_weighted ----

TEST(FrontdoorLoadWeightedTest, TicketsFollowWeightOverLoad) {
  Pool pool({"a", "b", "c", "d"}, {1, 1, 2, 1});
  pool["a"].load = 0;   // tickets 1
  pool["b"].load = 3;   // 1/4
  pool["c"].load = 1;   // 2/2 = 1
  pool["d"].load = -1;  // unknown: the mean of the known (4/3): 1/(7/3) = 3/7
  const double total = 1 + 0.25 + 1 + 3.0 / 7;
  auto p = MakeLoadWeightedPolicy(5);
  auto counts = Counts(*p, pool, 100000);
  EXPECT_NEAR(counts["a"] / 1e5, 1 / total, 0.01);
  EXPECT_NEAR(counts["b"] / 1e5, 0.25 / total, 0.01);
  EXPECT_NEAR(counts["c"] / 1e5, 1 / total, 0.01);
  EXPECT_NEAR(counts["d"] / 1e5, 3.0 / 7 / total, 0.01);
}

TEST(FrontdoorLoadWeightedTest, OwnOpenConnectionsBiasBetweenBeacons) {
  Pool pool({"a", "b"});
  pool["a"].load = pool["b"].load = 1;
  pool["a"].active = 20;  // 1 / (1 + 1 + 0.1 x 20) = 1/4, against b's 1/2
  auto p = MakeLoadWeightedPolicy(9);
  auto counts = Counts(*p, pool, 60000);
  EXPECT_NEAR(counts["a"] / 6e4, 1.0 / 3, 0.01);
  // No load known at all: weights alone (then the active bias).
  Pool blind({"x", "y"}, {3, 1});
  counts = Counts(*p, blind, 40000);
  EXPECT_NEAR(counts["x"] / 4e4, 0.75, 0.01);
}

TEST(FrontdoorLoadWeightedTest, ReproducibleFromItsSeed) {
  Pool pool({"a", "b", "c"});
  auto p1 = MakeLoadWeightedPolicy(3), p2 = MakeLoadWeightedPolicy(3);
  EXPECT_EQ(Sequence(*p1, pool, 50), Sequence(*p2, pool, 50));
}

}  // namespace
}  // namespace tacc::frontdoor
