// Who of a hot-standby pair of dispatchers holds the cluster address, on a fake clock.
#include "frontdoor/standby_role.h"

#include <gtest/gtest.h>

namespace tacc::frontdoor {
namespace {

using namespace std::chrono_literals;
using Clock = StandbyRole::Clock;

StandbyRole::Rank R(int priority, uint64_t incarnation, std::string name = "a") { return {priority, incarnation, std::move(name)}; }

TEST(StandbyRoleTest, AloneItTakesOverAfterTheMissesAndNotBefore) {
  auto t0 = Clock::time_point{} + 1h;
  StandbyRole role(R(100, 1), 200ms, 3, t0);
  EXPECT_FALSE(role.Tick(t0 + 599ms));
  EXPECT_FALSE(role.active());
  EXPECT_TRUE(role.Tick(t0 + 600ms));
  EXPECT_TRUE(role.active());
  EXPECT_EQ(role.reason(), "no peer heard since start");
}

TEST(StandbyRoleTest, TheStandbyTakesOverAfterThreeMissedHeartbeats) {
  auto t0 = Clock::time_point{} + 1h;
  StandbyRole standby(R(50, 2), 200ms, 3, t0);
  for (int i = 0; i < 10; ++i) {
    standby.OnHeartbeat(R(100, 1, "b"), true, t0 + i * 200ms);
    EXPECT_FALSE(standby.Tick(t0 + i * 200ms + 100ms));
  }
  auto last = t0 + 9 * 200ms;
  EXPECT_FALSE(standby.Tick(last + 599ms)) << "took over before 3 heartbeats were missed";
  EXPECT_TRUE(standby.Tick(last + 600ms));
  EXPECT_TRUE(standby.active());
  EXPECT_EQ(standby.reason(), "the peer missed 3 heartbeats");
}

TEST(StandbyRoleTest, TwoStandbysAgreeAtOnceOnTheHigherPriority) {
  auto t0 = Clock::time_point{} + 1h;
  StandbyRole hi(R(200, 5, "hi"), 200ms, 3, t0), lo(R(100, 1, "lo"), 200ms, 3, t0);
  hi.OnHeartbeat(R(100, 1, "lo"), false, t0 + 10ms);
  lo.OnHeartbeat(R(200, 5, "hi"), false, t0 + 10ms);
  EXPECT_TRUE(hi.Tick(t0 + 20ms));
  EXPECT_FALSE(lo.Tick(t0 + 20ms));
  EXPECT_TRUE(hi.active());
  EXPECT_FALSE(lo.active());
}

TEST(StandbyRoleTest, EqualPrioritiesTheOneStartedFirstWins) {
  EXPECT_TRUE(R(100, 1).Outranks(R(100, 2)));
  EXPECT_FALSE(R(100, 2).Outranks(R(100, 1)));
  EXPECT_TRUE(R(100, 1, "a").Outranks(R(100, 1, "b")));
}

TEST(StandbyRoleTest, AReturningHigherPriorityPeerWaitsAsStandby) {
  auto t0 = Clock::time_point{} + 1h;
  StandbyRole lo(R(100, 1), 200ms, 3, t0);
  EXPECT_TRUE(lo.Tick(t0 + 1s));  // alone: active
  // The high-priority peer comes back as standby: the active one keeps the address.
  lo.OnHeartbeat(R(200, 9, "b"), false, t0 + 2s);
  EXPECT_FALSE(lo.Tick(t0 + 2s + 1ms));
  EXPECT_TRUE(lo.active());
}

TEST(StandbyRoleTest, AfterAPartitionTheLowerRankedActiveYields) {
  auto t0 = Clock::time_point{} + 1h;
  StandbyRole lo(R(100, 1), 200ms, 3, t0);
  EXPECT_TRUE(lo.Tick(t0 + 1s));
  lo.OnHeartbeat(R(200, 2, "b"), true, t0 + 2s);
  EXPECT_TRUE(lo.Tick(t0 + 2s));
  EXPECT_FALSE(lo.active());
  EXPECT_EQ(lo.reason(), "an active peer of higher rank");
}

}  // namespace
}  // namespace tacc::frontdoor
