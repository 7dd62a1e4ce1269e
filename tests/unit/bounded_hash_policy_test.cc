// Consistent hashing with bounded loads (frontdoor/bounded_hash_policy.h): consistent
// while loads are low, never past (1 + epsilon) x the average under load.
#include "frontdoor/bounded_hash_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using testing::Client;
using testing::NthClient;
using testing::Pool;

std::string PickFor(BoundedHashPolicy& p, Pool& pool, std::string_view target) {
  return pool.Id(p.Pick(pool.candidates(), Client("10.0.0.1", 1, target)));
}

std::vector<std::string> Assign(BoundedHashPolicy& p, Pool& pool, int keys) {
  std::vector<std::string> out;
  out.reserve(keys);
  for (int i = 0; i < keys; ++i) out.push_back(PickFor(p, pool, "/k/" + std::to_string(i)));
  return out;
}

TEST(FrontdoorBoundedHashTest, CapacityIsOnePlusEpsilonTimesTheWeightedAverage) {
  // ceil(1.25 x (9 + 1) / 4) = ceil(3.125)
  EXPECT_EQ(BoundedHashPolicy::Capacity(0.25, 9, 1, 4), 4);
  EXPECT_EQ(BoundedHashPolicy::Capacity(0.25, 9, 2, 5), 5);  // ceil(1.25 x 10 x 2/5)
  EXPECT_EQ(BoundedHashPolicy::Capacity(0.25, 0, 1, 100), 1) << "an idle cluster takes a key anywhere";
}

TEST(FrontdoorBoundedHashTest, UnloadedItIsConsistentHashing) {
  BoundedHashPolicy p(0.25), other(0.25);
  Pool pool({"a:1", "b:1", "c:1", "d:1", "e:1"});
  auto before = Assign(p, pool, 5000);
  EXPECT_EQ(Assign(other, pool, 5000), before) << "every dispatcher builds the same ring";
  std::map<std::string, int> counts;
  for (auto& id : before) ++counts[id];
  for (auto& [id, n] : counts) EXPECT_NEAR(n, 1000, 300) << id;  // 100 points a back end: sd ~10%

  pool.Remove("c:1");
  auto after = Assign(p, pool, 5000);
  int moved = 0;
  for (size_t i = 0; i < before.size(); ++i) moved += before[i] != "c:1" && before[i] != after[i];
  EXPECT_EQ(moved, 0) << "only c's keys move";
  pool.Add("c:1");
  EXPECT_EQ(Assign(p, pool, 5000), before);
}

TEST(FrontdoorBoundedHashTest, AFullBackEndPassesTheKeyOnRoundTheRing) {
  BoundedHashPolicy p(0.25);
  Pool pool({"a", "b", "c", "d"});
  for (auto& c : pool.candidates()) c.active = 2;
  const std::string home = PickFor(p, pool, "/hot");  // total 8: capacity ceil(1.25 x 9 / 4) = 3
  pool[home].active = 5;                              // total 11: capacity ceil(1.25 x 12 / 4) = 4
  const std::string second = PickFor(p, pool, "/hot");
  EXPECT_NE(second, home);
  EXPECT_EQ(PickFor(p, pool, "/hot"), second) << "the overflow has a stable second choice";
  pool[home].active = 3;  // total 9: capacity ceil(1.25 x 10 / 4) = 4
  EXPECT_EQ(PickFor(p, pool, "/hot"), home);
}

TEST(FrontdoorBoundedHashTest, NoBackEndEverPassesItsCapacity) {
  // 10k requests for keys drawn from a skewed (Zipf, s = 1.5) popularity, ~200 open at
  // a time: the popular keys would pile onto their back ends in plain consistent hashing.
  for (double epsilon : {0.1, 0.25, 1.0}) {
    BoundedHashPolicy p(epsilon), plain(epsilon);
    Pool pool({"a", "b", "c", "d", "e"}, {1, 1, 2, 1, 1});
    Pool idle({"a", "b", "c", "d", "e"}, {1, 1, 2, 1, 1});  // where each key goes unloaded
    const double total_weight = 6;
    std::mt19937_64 rng(17);
    std::vector<double> popularity;
    for (int k = 1; k <= 500; ++k) popularity.push_back(std::pow(k, -1.5));
    std::discrete_distribution<int> key(popularity.begin(), popularity.end());
    std::deque<size_t> open;  // the requests in flight, by candidate, oldest first
    int64_t max_seen = 0, passed_on = 0;
    for (int r = 0; r < 10000; ++r) {
      int64_t total = 0;
      for (auto& c : pool.candidates()) total += c.active;
      const std::string target = "/k/" + std::to_string(key(rng));
      auto got = p.Pick(pool.candidates(), Client("10.0.0.1", 1, target));
      ASSERT_TRUE(got);
      Candidate& c = pool.candidates()[*got];
      const int64_t cap = BoundedHashPolicy::Capacity(epsilon, total, c.weight, total_weight);
      ASSERT_LT(c.active, cap) << "request " << r << " to " << c.id << " eps " << epsilon;
      ++c.active;
      max_seen = std::max(max_seen, c.active);
      passed_on += c.id != idle.Id(plain.Pick(idle.candidates(), Client("10.0.0.1", 1, target)));
      open.push_back(*got);
      while (open.size() > 200 || (open.size() > 150 && rng() % 2)) {
        --pool.candidates()[open.front()].active;
        open.pop_front();
      }
    }
    EXPECT_GT(max_seen, 30) << "the run did load the back ends";
    EXPECT_GT(passed_on, 20) << "the bound did send keys on round the ring, eps " << epsilon;
  }
}

TEST(FrontdoorBoundedHashTest, WithoutATargetTheClientAddressIsTheKey) {
  BoundedHashPolicy p(0.25);
  Pool pool({"a", "b", "c", "d"});
  std::map<std::string, int> counts;
  for (int i = 0; i < 400; ++i) {
    const std::string client = NthClient(i);
    auto first = pool.Id(p.Pick(pool.candidates(), Client(client, 1000)));
    EXPECT_EQ(pool.Id(p.Pick(pool.candidates(), Client(client, 2000))), first) << "not the port";
    ++counts[first];
  }
  EXPECT_EQ(counts.size(), 4u);
}

TEST(FrontdoorBoundedHashTest, TheRingIsRebuiltOnlyWhenTheBackEndsChange) {
  BoundedHashPolicy p(0.25);
  Pool pool({"a", "b", "c"});
  Assign(p, pool, 10);
  EXPECT_EQ(p.ring_builds(), 1u);
  pool["a"].active = 3;
  std::reverse(pool.candidates().begin(), pool.candidates().end());
  Assign(p, pool, 10);
  EXPECT_EQ(p.ring_builds(), 1u) << "loads and order are not the set";
  pool["b"].weight = 2;
  Assign(p, pool, 10);
  EXPECT_EQ(p.ring_builds(), 2u);
  pool.Remove("c");
  Assign(p, pool, 10);
  EXPECT_EQ(p.ring_builds(), 3u);
}

TEST(FrontdoorBoundedHashTest, WeightsScaleTheRingShare) {
  BoundedHashPolicy p(0.25);
  Pool pool({"a", "b"}, {1, 3});
  std::map<std::string, int> counts;
  for (auto& id : Assign(p, pool, 8000)) ++counts[id];
  EXPECT_NEAR(counts["b"] / 8000.0, 0.75, 0.06);
}

}  // namespace
}  // namespace tacc::frontdoor
