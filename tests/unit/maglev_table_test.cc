// Weighted Maglev tables (frontdoor/maglev_table.h): deterministic from the ids and
// weights, shares by weight, and little disruption when a back end leaves or joins.
#include "frontdoor/maglev_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace tacc::frontdoor {
namespace {

std::vector<MaglevEntry> Backends(int n, std::vector<double> weights = {}) {
  std::vector<MaglevEntry> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i)
    out.push_back({"10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1) + ":80",
                   i < static_cast<int>(weights.size()) ? weights[i] : 1.0});
  return out;
}

// The table as ids, so tables built from differently ordered inputs compare.
std::vector<std::string> Ids(const std::vector<uint32_t>& table, const std::vector<MaglevEntry>& in) {
  std::vector<std::string> out;
  out.reserve(table.size());
  for (uint32_t i : table) out.push_back(in.at(i).id);
  return out;
}

std::map<std::string, int> Shares(const std::vector<std::string>& table) {
  std::map<std::string, int> out;
  for (auto& id : table) ++out[id];
  return out;
}

TEST(MaglevTableTest, NoBackEndsNoTable) {
  EXPECT_TRUE(MaglevTable::Build({}).empty());
  std::vector<MaglevEntry> zero = {{"a:1", 0}, {"b:1", -1}};
  EXPECT_TRUE(MaglevTable::Build(zero).empty());
}

TEST(MaglevTableTest, EverySlotNamesABackEnd) {
  auto in = Backends(7);
  auto table = MaglevTable::Build(in);
  ASSERT_EQ(table.size(), MaglevTable::kDefaultSize);
  for (uint32_t i : table) ASSERT_LT(i, in.size());
  std::vector<MaglevEntry> with_zero = {{"a:1", 1}, {"z:1", 0}, {"b:1", 1}};
  for (uint32_t i : MaglevTable::Build(with_zero, 251)) EXPECT_NE(i, 1u) << "weight 0 gets no slot";
}

TEST(MaglevTableTest, TheSameBackEndsInAnyOrderGiveTheSameTable) {
  auto in = Backends(10, {1, 2, 3, 1, 1, 5, 1, 1, 2, 1});
  auto want = Ids(MaglevTable::Build(in), in);
  std::mt19937 rng(3);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(in.begin(), in.end(), rng);
    EXPECT_EQ(Ids(MaglevTable::Build(in), in), want) << "round " << round;
  }
}

TEST(MaglevTableTest, PinnedTable) {
  // A change here reshuffles every deployed dispatcher's connections and breaks
  // stateless failover between two versions: make it on purpose or not at all.
  std::vector<MaglevEntry> in = {{"a", 1}, {"b", 1}, {"c", 2}};
  auto table = MaglevTable::Build(in, 13);
  EXPECT_EQ(table, (std::vector<uint32_t>{2, 0, 1, 2, 0, 2, 1, 2, 2, 2, 1, 0, 2}));
}

TEST(MaglevTableTest, EqualWeightsShareEqually) {
  for (int n : {2, 3, 10, 100}) {
    auto in = Backends(n);
    auto shares = Shares(Ids(MaglevTable::Build(in), in));
    ASSERT_EQ(shares.size(), static_cast<size_t>(n));
    const double want = 65537.0 / n;
    for (auto& [id, slots] : shares) EXPECT_NEAR(slots, want, want * 0.01) << id << " of " << n;
  }
}

TEST(MaglevTableTest, SharesFollowWeightsWithinOnePercent) {
  for (const std::vector<double>& weights :
       std::vector<std::vector<double>>{{1, 2, 3, 4}, {1, 100}, {0.5, 0.25, 0.25}, {7, 1, 1, 1, 1, 3, 2.5}}) {
    auto in = Backends(static_cast<int>(weights.size()), weights);
    auto shares = Shares(Ids(MaglevTable::Build(in), in));
    double total = 0;
    for (double w : weights) total += w;
    for (auto& e : in) {
      const double want = 65537.0 * e.weight / total;
      EXPECT_NEAR(shares[e.id], want, want * 0.01) << e.id << " weight " << e.weight;
    }
  }
}

TEST(MaglevTableTest, SmallPrimesWork) {
  for (uint32_t size : {251u, 1021u}) {
    auto in = Backends(5, {1, 1, 1, 1, 2});
    auto table = MaglevTable::Build(in, size);
    ASSERT_EQ(table.size(), size);
    auto shares = Shares(Ids(table, in));
    for (auto& e : in) EXPECT_NEAR(shares[e.id], size * e.weight / 6.0, 2.0) << e.id << " in " << size;
  }
}

TEST(MaglevTableTest, ASizeThatIsNotPrimeIsRoundedUp) {
  EXPECT_TRUE(MaglevTable::IsPrime(65537));
  EXPECT_FALSE(MaglevTable::IsPrime(65536));
  EXPECT_EQ(MaglevTable::NextPrime(1000), 1009u);
  EXPECT_EQ(MaglevTable::Build(Backends(3), 1000).size(), 1009u);
  EXPECT_EQ(MaglevTable::Build(Backends(3), 0).size(), 2u);
}

// Slots whose back end changed although neither the old nor the new one is `changed`.
int Disrupted(const std::vector<std::string>& before, const std::vector<std::string>& after, const std::string& changed) {
  int n = 0;
  for (size_t s = 0; s < before.size(); ++s) n += before[s] != after[s] && before[s] != changed && after[s] != changed;
  return n;
}

TEST(MaglevTableTest, ABackEndLeavingMovesLittleBeyondItsOwnSlots) {
  for (int n : {5, 10, 50}) {
    auto in = Backends(n);
    auto before = Ids(MaglevTable::Build(in), in);
    const std::string gone = in[n / 2].id;
    in.erase(in.begin() + n / 2);
    auto after = Ids(MaglevTable::Build(in), in);
    int own = 0;
    for (size_t s = 0; s < before.size(); ++s) own += before[s] == gone;
    const int other = Disrupted(before, after, gone);
    // Its own 1/n must move; Maglev moves a little more (the NSDI paper: a few percent).
    EXPECT_NEAR(own, 65537.0 / n, 65537.0 / n * 0.01);
    EXPECT_LT(other, 65537 * 0.3 / n) << n << " back ends: " << other << " other slots moved";
    RecordProperty("disrupted_" + std::to_string(n), other);
    // And joining again restores the table exactly.
    in.insert(in.begin() + n / 2, MaglevEntry{gone, 1});
    EXPECT_EQ(Ids(MaglevTable::Build(in), in), before);
  }
}

TEST(MaglevTableTest, AWeightChangeMovesAboutTheDifference) {
  auto in = Backends(10);
  auto before = Ids(MaglevTable::Build(in), in);
  in[3].weight = 2;  // its share goes from 1/10 to 2/11
  auto after = Ids(MaglevTable::Build(in), in);
  int changed = 0;
  for (size_t s = 0; s < before.size(); ++s) changed += before[s] != after[s];
  const double gain = 65537.0 * (2.0 / 11 - 1.0 / 10);
  EXPECT_GT(changed, gain * 0.9);
  EXPECT_LT(changed, gain * 3);
}

}  // namespace
}  // namespace tacc::frontdoor
