#include "sns/manager_election.h"

#include <gtest/gtest.h>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
const Clock::time_point kT0 = Clock::time_point{} + 1000h;  // fake time

wire::Beacon WithFrontends(std::vector<uint32_t> indices) {
  wire::Beacon b;
  for (auto i : indices) b.add_frontends()->set_index(i);
  return b;
}

TEST(ManagerElectionTest, RankIsThePositionAmongListedFrontEnds) {
  auto b = WithFrontends({7, 2, 5});
  EXPECT_EQ(FrontendRank(&b, 2), 0);
  EXPECT_EQ(FrontendRank(&b, 5), 1);
  EXPECT_EQ(FrontendRank(&b, 7), 2);
  // Not listed (just started, or lost its registration): after everyone listed.
  EXPECT_EQ(FrontendRank(&b, 1), 3);
  // No beacon heard yet: its own index, so index 0 still goes first.
  EXPECT_EQ(FrontendRank(nullptr, 0), 0);
  EXPECT_EQ(FrontendRank(nullptr, 4), 4);
  auto empty = WithFrontends({});
  EXPECT_EQ(FrontendRank(&empty, 3), 3);
}

TEST(ManagerElectionTest, DuplicateIndicesDoNotShiftRanks) {
  // Two entries for one index (a re-registration in flight) must not push others back.
  auto b = WithFrontends({0, 0, 1});
  EXPECT_EQ(FrontendRank(&b, 1), 1);
}

ElectionInput Silent(Clock::duration silence, int rank) {
  ElectionInput in;
  in.now = kT0 + silence;
  in.last_beacon = kT0;
  in.timeout = 1000ms;
  in.rank = rank;
  return in;
}

TEST(ManagerElectionTest, RankRActsAfterRPlusOneTimeouts) {
  EXPECT_FALSE(ShouldRestartManager(Silent(1000ms, 0)));
  EXPECT_TRUE(ShouldRestartManager(Silent(1001ms, 0)));
  EXPECT_FALSE(ShouldRestartManager(Silent(2000ms, 1)));
  EXPECT_TRUE(ShouldRestartManager(Silent(2001ms, 1)));
  EXPECT_FALSE(ShouldRestartManager(Silent(3000ms, 2)));
  EXPECT_TRUE(ShouldRestartManager(Silent(3001ms, 2)));
}

TEST(ManagerElectionTest, NoSecondRestartBeforeRankPlusTwoTimeouts) {
  auto in = Silent(5000ms, 0);
  in.last_restart = in.now - 1500ms;  // restarted 1.5 timeouts ago: give it time
  EXPECT_FALSE(ShouldRestartManager(in));
  in.last_restart = in.now - 2001ms;
  EXPECT_TRUE(ShouldRestartManager(in));
  auto r1 = Silent(5000ms, 1);
  r1.last_restart = r1.now - 2500ms;
  EXPECT_FALSE(ShouldRestartManager(r1));
  r1.last_restart = r1.now - 3001ms;
  EXPECT_TRUE(ShouldRestartManager(r1));
}

TEST(ManagerElectionTest, BrokenConnectionToADeadLocalManagerActsAtOnceForRankZero) {
  auto in = Silent(100ms, 0);  // beacons only just stopped
  EXPECT_FALSE(ShouldRestartManager(in));
  in.connection_lost_and_process_gone = true;
  in.connection_lost_at = in.now;
  EXPECT_TRUE(ShouldRestartManager(in));
  // Rank 1 waits for its (1 + 1) x timeout of silence whatever it knows: rank 0's
  // replacement may take more than a timeout to come up (regression: under ASan a
  // second front end restarted the manager 3 s after the first, while the first's
  // replacement was still starting).
  auto r1 = Silent(1000ms, 1);
  r1.connection_lost_and_process_gone = true;
  r1.connection_lost_at = r1.now - 1000ms;
  EXPECT_FALSE(ShouldRestartManager(r1));
  r1 = Silent(2001ms, 1);
  r1.connection_lost_and_process_gone = true;
  r1.connection_lost_at = r1.now - 2001ms;
  EXPECT_TRUE(ShouldRestartManager(r1));
}

}  // namespace
}  // namespace tacc::sns
