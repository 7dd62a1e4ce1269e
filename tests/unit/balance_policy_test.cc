#include "sns/balance_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <vector>

namespace tacc::sns {
namespace {

constexpr int kDraws = 100000;

std::vector<double> Frequencies(BalancePolicy& p, const std::vector<double>& loads, int draws = kDraws) {
  std::vector<double> freq(loads.size(), 0);
  for (int i = 0; i < draws; ++i) {
    size_t k = p.Pick(loads);
    EXPECT_LT(k, loads.size());
    if (k < loads.size()) freq[k] += 1.0 / draws;
  }
  return freq;
}

// Expected share of each worker: tickets 1/(1+load), normalised.
std::vector<double> LotteryShares(const std::vector<double>& loads) {
  std::vector<double> t;
  double total = 0;
  for (double l : loads) total += t.emplace_back(1.0 / (1.0 + std::max(0.0, l)));
  for (double& x : t) x /= total;
  return t;
}

TEST(LotteryPolicyTest, PicksInProportionToInverseLoad) {
  for (uint64_t seed : {1u, 7u, 12345u}) {
    auto p = MakeBalancePolicy("lottery", seed);
    std::vector<double> loads = {0, 1, 3, 9};
    auto freq = Frequencies(*p, loads);
    auto want = LotteryShares(loads);  // 0.541, 0.270, 0.135, 0.054
    for (size_t i = 0; i < loads.size(); ++i) EXPECT_NEAR(freq[i], want[i], 0.01) << "worker " << i << " seed " << seed;
    EXPECT_GT(freq[0], freq[1]);
    EXPECT_GT(freq[1], freq[2]);
    EXPECT_GT(freq[2], freq[3]);
    EXPECT_GT(freq[3], 0.03);  // a loaded worker still gets some work
  }
}

TEST(LotteryPolicyTest, EqualLoadsAreUniform) {
  auto p = MakeBalancePolicy("lottery", 99);
  auto freq = Frequencies(*p, {2.5, 2.5, 2.5, 2.5, 2.5});
  for (double f : freq) EXPECT_NEAR(f, 0.2, 0.01);
}

TEST(LotteryPolicyTest, NegativeEstimatesCountAsIdle) {
  // The delta estimator can undershoot; a negative queue must not earn extra tickets
  // (or a non-positive ticket count) compared with an idle worker.
  auto p = MakeBalancePolicy("lottery", 3);
  auto freq = Frequencies(*p, {-5, 0});
  EXPECT_NEAR(freq[0], 0.5, 0.01);
  EXPECT_NEAR(freq[1], 0.5, 0.01);
}

TEST(LotteryPolicyTest, SingleCandidateAlwaysChosen) {
  auto p = MakeBalancePolicy("lottery", 5);
  std::vector<double> one = {100};
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(p->Pick(one), 0u);
}

TEST(LotteryPolicyTest, SameSeedSameSequence) {
  auto a = MakeBalancePolicy("lottery", 42);
  auto b = MakeBalancePolicy("lottery", 42);
  std::vector<double> loads = {0, 1, 2, 3};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a->Pick(loads), b->Pick(loads));
}

TEST(RandomPolicyTest, IsUniformRegardlessOfLoad) {
  auto p = MakeBalancePolicy("random", 11);
  auto freq = Frequencies(*p, {0, 100, 0.5, 1e6});
  for (double f : freq) EXPECT_NEAR(f, 0.25, 0.01);
}

TEST(LeastLoadedPolicyTest, AlwaysPicksAMinimum) {
  auto p = MakeBalancePolicy("least_loaded", 1);
  std::vector<double> loads = {3, 1, 2, 7};
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(p->Pick(loads), 1u);
  std::vector<double> last = {3, 2, 0.5};
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p->Pick(last), 2u);
}

TEST(LeastLoadedPolicyTest, BreaksTiesAtRandom) {
  auto p = MakeBalancePolicy("least_loaded", 2);
  auto freq = Frequencies(*p, {1, 4, 1, 1, 9}, 30000);
  EXPECT_EQ(freq[1], 0);
  EXPECT_EQ(freq[4], 0);
  for (size_t i : {0u, 2u, 3u}) EXPECT_NEAR(freq[i], 1.0 / 3, 0.02) << "worker " << i;
}

// Regression: a NaN estimate made least_loaded index an empty vector.
TEST(LeastLoadedPolicyTest, NonFiniteLoadsAreNeverPreferred) {
  auto p = MakeBalancePolicy("least_loaded", 1);
  std::vector<double> loads = {std::nan(""), 1, 2};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p->Pick(loads), 1u);
  auto lottery = MakeBalancePolicy("lottery", 1);
  std::vector<double> inf = {std::numeric_limits<double>::infinity(), 0};
  int first = 0;
  for (int i = 0; i < 1000; ++i) first += lottery->Pick(inf) == 0;
  EXPECT_EQ(first, 0);
}

TEST(BalancePolicyFactoryTest, UnknownNameFallsBackToLottery) {
  // Config validation rejects unknown names; the factory's fallback is the paper's choice.
  auto lottery = MakeBalancePolicy("lottery", 8);
  auto other = MakeBalancePolicy("no-such-policy", 8);
  std::vector<double> loads = {0, 5, 1};
  for (int i = 0; i < 500; ++i) ASSERT_EQ(lottery->Pick(loads), other->Pick(loads));
}

}  // namespace
}  // namespace tacc::sns
