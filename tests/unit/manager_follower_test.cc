#include "sns/manager_follower.h"

#include <gtest/gtest.h>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = ManagerFollower::Clock;

wire::Beacon B(uint64_t epoch) {
  wire::Beacon b;
  b.set_epoch(epoch);
  b.mutable_manager()->set_host("127.0.0.1");
  b.mutable_manager()->set_port(static_cast<uint32_t>(epoch));
  return b;
}

class ManagerFollowerTest : public ::testing::Test {
 protected:
  ManagerFollower f{ManagerFollower::Options{2s, 600ms}};
  Clock::time_point t0 = Clock::time_point{} + 1h;  // a fake clock

  // Follows `epoch` (registered and acknowledged) at t0.
  void Follow(uint64_t epoch) {
    auto d = f.OnBeacon(B(epoch), t0, false);
    ASSERT_TRUE(d.register_);
    f.RegistrationStarted();
    f.RegistrationEnded(true, epoch, t0);
    ASSERT_EQ(f.epoch(), epoch);
  }
};

TEST_F(ManagerFollowerTest, FirstManagerIsUsedOnlyOnceRegistrationConfirmsIt) {
  auto d = f.OnBeacon(B(10), t0, false);
  EXPECT_TRUE(d.register_);
  EXPECT_FALSE(d.use) << "a beacon alone is not confirmation";
  f.RegistrationStarted();
  d = f.OnBeacon(B(10), t0 + 100ms, false);
  EXPECT_FALSE(d.register_) << "one registration at a time";
  EXPECT_FALSE(d.use);
  f.RegistrationEnded(true, 10, t0 + 150ms);
  d = f.OnBeacon(B(10), t0 + 200ms, true);
  EXPECT_TRUE(d.use);
  EXPECT_FALSE(d.register_);
}

TEST_F(ManagerFollowerTest, OtherManagersAreIgnoredWhileTheFollowedOneIsAlive) {
  Follow(10);
  for (uint64_t other : {5u, 20u}) {  // older (replayed, or a rival) and newer (a younger rival)
    auto d = f.OnBeacon(B(other), t0 + 100ms, true);
    EXPECT_FALSE(d.register_) << other;
    EXPECT_FALSE(d.use) << other;
  }
  EXPECT_TRUE(f.OnBeacon(B(10), t0 + 200ms, true).use);
  EXPECT_EQ(f.epoch(), 10u);
}

TEST_F(ManagerFollowerTest, SilentFollowedManagerIsLeftEvenIfItsConnectionStaysOpen) {
  Follow(10);  // then the manager is SIGSTOPped: its connection stays open, beacons stop
  auto d = f.OnBeacon(B(20), t0 + 1s, true);
  EXPECT_FALSE(d.register_) << "not silent long enough yet";
  d = f.OnBeacon(B(20), t0 + 2s + 1ms, true);
  EXPECT_TRUE(d.register_);
  f.RegistrationStarted();
  f.RegistrationEnded(true, 20, t0 + 2s + 5ms);
  EXPECT_EQ(f.epoch(), 20u);
  EXPECT_TRUE(f.OnBeacon(B(20), t0 + 2s + 10ms, true).use);
  EXPECT_FALSE(f.OnBeacon(B(10), t0 + 2s + 20ms, true).use) << "the old manager's late beacons are no longer used";
}

TEST_F(ManagerFollowerTest, LostConnectionWaitsForTheOldManagerToFallSilentBeforeANewer) {
  Follow(10);
  f.OnBeacon(B(10), t0 + 100ms, true);  // its last beacon
  // The connection breaks; a newer manager beacons at once. While the old one might
  // still be beaconing (within `active`), it is the older and would win.
  auto d = f.OnBeacon(B(20), t0 + 200ms, false);
  EXPECT_FALSE(d.register_);
  d = f.OnBeacon(B(20), t0 + 100ms + 601ms, false);
  EXPECT_TRUE(d.register_);
}

TEST_F(ManagerFollowerTest, LostConnectionToAStillBeaconingManagerReconnects) {
  Follow(10);
  auto d = f.OnBeacon(B(10), t0 + 100ms, false);
  EXPECT_TRUE(d.use);
  EXPECT_TRUE(d.register_);
}

TEST_F(ManagerFollowerTest, ChoosingAManagerPrefersTheOldestBeaconing) {
  EXPECT_TRUE(f.OnBeacon(B(30), t0, false).register_);  // only one heard so far
  // Before registering, an older one is heard too: it is the one that will win.
  ManagerFollower g{ManagerFollower::Options{2s, 600ms}};
  g.OnBeacon(B(20), t0, false);
  EXPECT_FALSE(g.OnBeacon(B(30), t0 + 10ms, false).register_);
  EXPECT_TRUE(g.OnBeacon(B(20), t0 + 20ms, false).register_);
}

TEST_F(ManagerFollowerTest, FailedRegistrationChangesNothingAndIsRetried) {
  Follow(10);
  auto d = f.OnBeacon(B(20), t0 + 3s, true);  // 10 silent: try 20
  ASSERT_TRUE(d.register_);
  f.RegistrationStarted();
  f.RegistrationEnded(false, 0, t0 + 3s);  // a replayed beacon naming a dead manager
  EXPECT_EQ(f.epoch(), 10u);
  EXPECT_TRUE(f.OnBeacon(B(20), t0 + 3s + 500ms, true).register_);
}

TEST_F(ManagerFollowerTest, TheAcknowledgedEpochIsFollowedNotTheBeaconsClaim) {
  f.OnBeacon(B(10), t0, false);
  f.RegistrationStarted();
  f.RegistrationEnded(true, 11, t0);  // another manager now answers at that address
  EXPECT_EQ(f.epoch(), 11u);
  EXPECT_FALSE(f.OnBeacon(B(10), t0 + 10ms, true).use);
}

}  // namespace
}  // namespace tacc::sns
