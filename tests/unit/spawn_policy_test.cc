#include "sns/spawn_policy.h"

#include <gtest/gtest.h>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const Clock::time_point kNow = Clock::time_point{} + 1000h;

// Worker ids for views: a view holds ids as string_views into the directory's records.
const std::string kIds[] = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"};

class ThresholdPolicyTest : public ::testing::Test {
 protected:
  ThresholdPolicyTest() {
    config_.manager.spawn_policy = "threshold";
    config_.manager.spawn_threshold = 4.0;  // H
    config_.manager.spawn_hold_s = 5.0;     // D
    config_.manager.reap_idle_s = 30.0;     // R
    cls_.name = "c";
    cls_.min_workers = 1;
    cls_.max_workers = 4;
    policy_ = MakeSpawnPolicy(config_);
  }

  // `n` live workers, all busy (never idle), mean load `load`, no spawn for an hour.
  ClassLoadView Busy(int n, double load) {
    ClassLoadView v;
    v.config = &cls_;
    v.live = n;
    v.mean_load = load;
    v.last_spawn = kNow - 1h;
    for (int i = 0; i < n; ++i) v.workers.push_back({kIds[i], load, 0s});
    return v;
  }

  Config config_;
  ClassConfig cls_;
  std::unique_ptr<SpawnPolicy> policy_;
};

TEST_F(ThresholdPolicyTest, SpawnsOneWhenMeanLoadExceedsH) {
  auto d = policy_->Decide(Busy(2, 4.5), kNow);
  EXPECT_EQ(d.spawn, 1);
  EXPECT_TRUE(d.reap.empty());
  EXPECT_FALSE(d.reason.empty());
}

// Regression: a class that never spawned was held for D seconds after boot.
TEST_F(ThresholdPolicyTest, NeverSpawnedClassIsNotHeld) {
  auto v = Busy(1, 10);
  v.last_spawn = Clock::time_point{};
  EXPECT_EQ(policy_->Decide(v, Clock::time_point{} + 1s).spawn, 1);
}

TEST_F(ThresholdPolicyTest, DoesNotSpawnAtOrBelowH) {
  EXPECT_EQ(policy_->Decide(Busy(2, 4.0), kNow).spawn, 0);
  EXPECT_EQ(policy_->Decide(Busy(2, 1.0), kNow).spawn, 0);
}

TEST_F(ThresholdPolicyTest, HoldsSpawnsForDAfterTheLastSpawn) {
  auto v = Busy(2, 10);
  v.last_spawn = kNow - 4s;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 0);
  v.last_spawn = kNow - 4999ms;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 0);
  v.last_spawn = kNow - 5s;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 1);
}

TEST_F(ThresholdPolicyTest, NeverSpawnsAboveMaxWorkers) {
  EXPECT_EQ(policy_->Decide(Busy(3, 10), kNow).spawn, 1);
  EXPECT_EQ(policy_->Decide(Busy(4, 10), kNow).spawn, 0);
}

TEST_F(ThresholdPolicyTest, DoesNotSpawnWhileASpawnIsPending) {
  auto v = Busy(2, 10);
  v.pending = 1;
  auto d = policy_->Decide(v, kNow);
  EXPECT_EQ(d.spawn, 0);
  EXPECT_TRUE(d.reap.empty());
}

TEST_F(ThresholdPolicyTest, KeepsMinWorkersCountingPending) {
  cls_.min_workers = 3;
  ClassLoadView v;
  v.config = &cls_;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 3);
  v.live = 1;
  v.pending = 1;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 1);
  v.pending = 2;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 0);
}

TEST_F(ThresholdPolicyTest, MinimumIsRestoredEvenWithinTheHoldTime) {
  cls_.min_workers = 2;
  ClassLoadView v;
  v.config = &cls_;
  v.live = 1;
  v.last_spawn = kNow - 1s;
  EXPECT_EQ(policy_->Decide(v, kNow).spawn, 1);
}

TEST_F(ThresholdPolicyTest, ReapsTheMostIdleWorkerAfterR) {
  auto v = Busy(3, 0);
  v.workers[0].idle_for = 31s;
  v.workers[1].idle_for = 45s;
  v.workers[2].idle_for = 10s;
  auto d = policy_->Decide(v, kNow);
  EXPECT_EQ(d.spawn, 0);
  ASSERT_EQ(d.reap.size(), 1u);  // one per tick
  EXPECT_EQ(d.reap[0], "w1");
}

TEST_F(ThresholdPolicyTest, DoesNotReapBeforeR) {
  auto v = Busy(3, 0);
  for (auto& w : v.workers) w.idle_for = 29s;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty());
  v.workers[2].idle_for = 30s;
  auto d = policy_->Decide(v, kNow);
  ASSERT_EQ(d.reap.size(), 1u);
  EXPECT_EQ(d.reap[0], "w2");
}

TEST_F(ThresholdPolicyTest, NeverReapsBelowMinWorkers) {
  cls_.min_workers = 2;
  auto v = Busy(2, 0);
  for (auto& w : v.workers) w.idle_for = 1h;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty());
  cls_.min_workers = 0;
  auto one = Busy(1, 0);
  one.workers[0].idle_for = 1h;
  ASSERT_EQ(policy_->Decide(one, kNow).reap.size(), 1u);
}

TEST_F(ThresholdPolicyTest, DoesNotReapWhilePendingOrWithinHold) {
  auto v = Busy(3, 0);
  for (auto& w : v.workers) w.idle_for = 1h;
  v.pending = 1;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty());
  v.pending = 0;
  v.last_spawn = kNow - 2s;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty());
  v.last_spawn = kNow - 6s;
  EXPECT_EQ(policy_->Decide(v, kNow).reap.size(), 1u);
}

// Under steady load no worker is ever idle (lottery scheduling gives each some tasks), so
// after a burst only lightness shrinks the class: light for R seconds, the least-loaded
// worker goes, one at a time.
TEST_F(ThresholdPolicyTest, ReapsTheLeastLoadedWorkerWhenLightForR) {
  auto v = Busy(4, 0.3);
  v.workers[0].load = 0.4;
  v.workers[1].load = 0.1;
  v.workers[2].load = 0.3;
  v.workers[3].load = 0.4;
  v.light_since = kNow - 29s;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty()) << "reaped before R";
  v.light_since = kNow - 30s;
  auto d = policy_->Decide(v, kNow);
  ASSERT_EQ(d.reap.size(), 1u);
  EXPECT_EQ(d.reap[0], "w1");
  EXPECT_EQ(d.spawn, 0);
}

TEST_F(ThresholdPolicyTest, LightnessNeverReapsBelowMinWorkersNorWithinHold) {
  auto v = Busy(1, 0.0);
  v.light_since = kNow - 1h;
  EXPECT_TRUE(policy_->Decide(v, kNow).reap.empty());  // min_workers = 1
  auto w = Busy(3, 0.1);
  w.light_since = kNow - 1h;
  w.last_spawn = kNow - 2s;  // within D
  EXPECT_TRUE(policy_->Decide(w, kNow).reap.empty());
  w.pending = 1;
  w.last_spawn = kNow - 1h;
  EXPECT_TRUE(policy_->Decide(w, kNow).reap.empty());
  w.pending = 0;
  w.light_since = {};  // not light
  EXPECT_TRUE(policy_->Decide(w, kNow).reap.empty());
}

TEST(FixedPolicyTest, KeepsMinimumOnlyAndNeverReaps) {
  Config config;
  config.manager.spawn_policy = "fixed";
  auto policy = MakeSpawnPolicy(config);
  ClassConfig cls;
  cls.name = "c";
  cls.min_workers = 2;
  cls.max_workers = 8;
  ClassLoadView v;
  v.config = &cls;
  EXPECT_EQ(policy->Decide(v, kNow).spawn, 2);
  v.live = 2;
  v.mean_load = 1000;
  EXPECT_EQ(policy->Decide(v, kNow).spawn, 0);  // no load-driven growth
  v.live = 4;
  v.mean_load = 0;
  for (int i = 0; i < 4; ++i) v.workers.push_back({kIds[i], 0, 1h});
  auto d = policy->Decide(v, kNow);
  EXPECT_EQ(d.spawn, 0);
  EXPECT_TRUE(d.reap.empty());
}

TEST(SpawnPolicyFactoryTest, DefaultConfigGivesThreshold) {
  Config config;
  auto policy = MakeSpawnPolicy(config);
  ClassConfig cls;
  cls.max_workers = 8;
  ClassLoadView v;
  v.config = &cls;
  v.live = 1;
  v.mean_load = config.manager.spawn_threshold + 1;
  v.workers.push_back({"w", v.mean_load, 0s});
  EXPECT_EQ(policy->Decide(v, kNow).spawn, 1);
}

}  // namespace
}  // namespace tacc::sns
