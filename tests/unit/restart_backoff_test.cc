#include "sns/restart_backoff.h"

#include <gtest/gtest.h>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = RestartBackoff::Clock;

// Fake time: an arbitrary fixed origin, advanced by hand.
const Clock::time_point kT0 = Clock::time_point{} + 1000h;

TEST(RestartBackoffTest, NoCrashesMeansMinimumDelay) {
  RestartBackoff b(200ms, 10s, 60s, 5);
  EXPECT_EQ(b.Delay(kT0), Clock::duration(200ms));
  EXPECT_EQ(b.CrashesInWindow(kT0), 0);
  EXPECT_FALSE(b.Suspended(kT0));
  EXPECT_EQ(b.total_crashes(), 0u);
}

TEST(RestartBackoffTest, DelayDoublesWithEachCrashInTheWindow) {
  RestartBackoff b(200ms, 10s, 60s, 100);
  std::vector<Clock::duration> want = {200ms, 400ms, 800ms, 1600ms, 3200ms, 6400ms};
  auto t = kT0;
  for (size_t i = 0; i < want.size(); ++i) {
    b.RecordCrash(t);
    EXPECT_EQ(b.Delay(t), want[i]) << "after crash " << i + 1;
    t += 1s;
  }
}

TEST(RestartBackoffTest, DelayIsCappedAtMax) {
  RestartBackoff b(200ms, 1s, 60s, 100);
  for (int i = 0; i < 50; ++i) b.RecordCrash(kT0 + i * 10ms);
  EXPECT_EQ(b.Delay(kT0 + 1s), Clock::duration(1s));
  // A cap that is not a power-of-two multiple of min is still reached, not overshot.
  RestartBackoff odd(300ms, 1s, 60s, 100);
  for (int i = 0; i < 3; ++i) odd.RecordCrash(kT0);
  EXPECT_EQ(odd.Delay(kT0), Clock::duration(1s));
}

TEST(RestartBackoffTest, SuspendedOnlyAfterMoreThanMaxCrashes) {
  RestartBackoff b(200ms, 10s, 60s, 3);
  for (int i = 0; i < 3; ++i) {
    b.RecordCrash(kT0 + i * 1s);
    EXPECT_FALSE(b.Suspended(kT0 + i * 1s)) << "after crash " << i + 1;
  }
  b.RecordCrash(kT0 + 3s);
  EXPECT_TRUE(b.Suspended(kT0 + 3s));
  EXPECT_EQ(b.CrashesInWindow(kT0 + 3s), 4);
  EXPECT_EQ(b.total_crashes(), 4u);
}

TEST(RestartBackoffTest, RecoversWhenOldCrashesAgeOutOfTheWindow) {
  RestartBackoff b(200ms, 10s, 60s, 3);
  for (int i = 0; i < 4; ++i) b.RecordCrash(kT0 + i * 1s);  // at 0,1,2,3 s
  ASSERT_TRUE(b.Suspended(kT0 + 3s));
  // Still suspended while all four are inside the window (inclusive edge).
  EXPECT_TRUE(b.Suspended(kT0 + 60s));
  // Once the first crash is more than 60 s old, three remain: restarts resume.
  EXPECT_FALSE(b.Suspended(kT0 + 60s + 1ms));
  EXPECT_EQ(b.CrashesInWindow(kT0 + 60s + 1ms), 3);
  EXPECT_EQ(b.Delay(kT0 + 60s + 1ms), Clock::duration(800ms));
  // Long after, everything has aged out: back to the minimum delay.
  EXPECT_EQ(b.CrashesInWindow(kT0 + 10min), 0);
  EXPECT_EQ(b.Delay(kT0 + 10min), Clock::duration(200ms));
  EXPECT_EQ(b.total_crashes(), 4u);  // the lifetime count does not age out
}

TEST(RestartBackoffTest, CrashAfterQuietPeriodStartsAgainAtMinimum) {
  RestartBackoff b(100ms, 10s, 30s, 5);
  for (int i = 0; i < 4; ++i) b.RecordCrash(kT0);
  EXPECT_EQ(b.Delay(kT0), Clock::duration(800ms));
  b.RecordCrash(kT0 + 31s);
  EXPECT_EQ(b.CrashesInWindow(kT0 + 31s), 1);
  EXPECT_EQ(b.Delay(kT0 + 31s), Clock::duration(100ms));
}

TEST(RestartBackoffTest, ZeroMinimumDelayStaysZero) {
  RestartBackoff b(0ms, 1s, 60s, 5);
  for (int i = 0; i < 5; ++i) b.RecordCrash(kT0);
  EXPECT_EQ(b.Delay(kT0), Clock::duration::zero());
}

}  // namespace
}  // namespace tacc::sns
