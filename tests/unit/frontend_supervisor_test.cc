#include "sns/frontend_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "fake_launcher.h"

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = FrontendSupervisor::Clock;

// Fake time: an arbitrary fixed origin, advanced by hand.
const Clock::time_point kT0 = Clock::time_point{} + 1000h;

// Connections are opaque keys: any distinct addresses do.
int conns[16];

class FrontendSupervisorTest : public ::testing::Test {
 protected:
  FrontendSupervisorTest() {
    config_.frontend.count = 1;
    config_.frontend.port = 8080;
    config_.manager.spawn_timeout_ms = 10000;
    config_.manager.peer_timeout_ms = 3000;
    config_.manager.restart_backoff_min_ms = 200;
    config_.manager.restart_backoff_max_ms = 10000;
    config_.manager.restart_window_s = 60;
    config_.manager.restart_max = 3;
  }

  // The front end launched last registers as index 0 on conns[i].
  void RegisterLast(int i) {
    FrontendSupervisor::Registration r;
    r.index = 0;
    r.http.set_host("127.0.0.1");
    r.http.set_port(8080);
    r.pid = launcher_.last_pid();
    auto s = sup_.Register(&conns[i], r);
    ASSERT_TRUE(s.ok());
  }

  Config config_;
  FakeLauncher launcher_;
  FrontendSupervisor sup_{config_, launcher_};
};

TEST_F(FrontendSupervisorTest, LaunchesEachManagedSlotOnce) {
  config_.frontend.count = 2;
  sup_.ManageSlots({"--cluster.name", "t"});
  sup_.Tick(kT0, true);  // adopting: nothing
  EXPECT_TRUE(launcher_.launches.empty());
  sup_.Tick(kT0, false);
  ASSERT_EQ(launcher_.launches.size(), 2u);
  std::vector<std::string> want = {"frontend", "--index", "1", "--port", "8081", "--cluster.name", "t"};
  EXPECT_EQ(launcher_.launches[1], want);
  sup_.Tick(kT0 + 1s, false);  // launched, alive, not yet registered: wait
  EXPECT_EQ(launcher_.launches.size(), 2u);
  EXPECT_EQ(sup_.launches(), 2u);
}

TEST_F(FrontendSupervisorTest, UnmanagedFrontEndsAreOnlyRecorded) {
  sup_.Tick(kT0, false);
  EXPECT_TRUE(launcher_.launches.empty());
  FrontendSupervisor::Registration r;
  r.index = 3;
  ASSERT_TRUE(sup_.Register(&conns[0], r).ok());
  EXPECT_EQ(sup_.frontends().size(), 1u);
  EXPECT_EQ(sup_.BeginOrderlyStop(&conns[0]).kind(), ErrorKind::kNotFound);  // not ours to restart
  EXPECT_EQ(sup_.BeginOrderlyStop(&conns[1]).kind(), ErrorKind::kNotFound);  // not a front end
}

TEST_F(FrontendSupervisorTest, OneConnectionIsOneFrontEndAndANewConnectionSupersedes) {
  FrontendSupervisor::Registration r;
  r.index = 0;
  ASSERT_TRUE(sup_.Register(&conns[0], r).ok());
  r.index = 1;
  auto second = sup_.Register(&conns[0], r);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().kind(), ErrorKind::kInvalidArgument);
  r.index = 0;
  auto again = sup_.Register(&conns[1], r);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, static_cast<const void*>(&conns[0]));
  EXPECT_FALSE(sup_.HasConnection(&conns[0]));
  EXPECT_FALSE(sup_.OnConnectionLost(&conns[0], kT0).has_value());  // stale: nothing lost
  EXPECT_EQ(sup_.frontends().at(0).conn, static_cast<const void*>(&conns[1]));
}

TEST_F(FrontendSupervisorTest, CrashRelaunchesWithBackOff) {
  sup_.ManageSlots({});
  sup_.Tick(kT0, false);
  pid_t first = launcher_.last_pid();
  RegisterLast(0);
  // The process dies: its connection drops and the exit is reported.
  launcher_.Exit(first);
  sup_.OnProcessExit(first, "killed by signal 9", kT0 + 1s);
  EXPECT_EQ(sup_.OnConnectionLost(&conns[0], kT0 + 1s), std::optional<uint32_t>(0));
  sup_.Tick(kT0 + 1s, false);  // relaunched at once (the first crash has no delay before it)
  ASSERT_EQ(launcher_.launches.size(), 2u);
  pid_t second = launcher_.last_pid();
  // The replacement dies before registering: the next launch waits for the back-off.
  launcher_.Exit(second);
  sup_.OnProcessExit(second, "exited with 1", kT0 + 2s);
  sup_.Tick(kT0 + 2s, false);
  EXPECT_EQ(launcher_.launches.size(), 2u);
  sup_.Tick(kT0 + 2s + 300ms, false);
  EXPECT_EQ(launcher_.launches.size(), 2u);
  sup_.Tick(kT0 + 2s + 400ms, false);
  EXPECT_EQ(launcher_.launches.size(), 3u);
  EXPECT_TRUE(launcher_.kills.empty());  // nothing was alive to kill
}

TEST_F(FrontendSupervisorTest, LostButAliveWaitsThenIsKilledAsHung) {
  sup_.ManageSlots({});
  sup_.Tick(kT0, false);
  pid_t pid = launcher_.last_pid();
  RegisterLast(0);
  ASSERT_TRUE(sup_.OnConnectionLost(&conns[0], kT0 + 1s).has_value());
  sup_.Tick(kT0 + 2s, false);  // alive, probably reconnecting
  EXPECT_EQ(launcher_.launches.size(), 1u);
  sup_.Tick(kT0 + 4s, false);  // past peer_timeout_ms: hung
  EXPECT_TRUE(launcher_.KilledWith(pid, SIGKILL));
  EXPECT_EQ(launcher_.launches.size(), 2u);
}

TEST_F(FrontendSupervisorTest, OrderlyStopGetsASuccessorAtOnceAndIsNoCrash) {
  config_.manager.restart_max = 1;
  sup_.ManageSlots({});
  sup_.Tick(kT0, false);
  pid_t old = launcher_.last_pid();
  RegisterLast(0);
  // Several orderly stops in a row: each successor starts at once, none is a crash (a
  // crash budget of 1 would otherwise suspend the slot).
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(sup_.BeginOrderlyStop(&conns[i - 1]).ok());
    sup_.Tick(kT0 + i * 1s, false);
    ASSERT_EQ(launcher_.launches.size(), static_cast<size_t>(i + 1)) << "stop " << i;
    EXPECT_FALSE(launcher_.KilledWith(old, SIGKILL));  // the old one still serves; never killed
    RegisterLast(i);
    old = launcher_.last_pid();
  }
  EXPECT_TRUE(launcher_.kills.empty());
  // A real crash afterwards is relaunched at once (the first crash in the window).
  launcher_.Exit(old);
  sup_.OnConnectionLost(&conns[3], kT0 + 10s);
  sup_.Tick(kT0 + 10s, false);
  EXPECT_EQ(launcher_.launches.size(), 5u);
}

TEST_F(FrontendSupervisorTest, SignalsOnlyChildrenStillRunning) {
  config_.frontend.count = 2;
  sup_.ManageSlots({});
  sup_.Tick(kT0, false);
  pid_t a = launcher_.last_pid() - 1, b = launcher_.last_pid();
  launcher_.Exit(a);
  sup_.OnProcessExit(a, "exited with 0", kT0);
  FrontendSupervisor::Registration r;  // reports a pid we never launched
  r.index = 5;
  r.pid = 1;
  ASSERT_TRUE(sup_.Register(&conns[5], r).ok());
  sup_.SignalAll(SIGTERM);
  ASSERT_EQ(launcher_.kills.size(), 1u);
  EXPECT_EQ(launcher_.kills[0], std::make_pair(b, SIGTERM));
  EXPECT_TRUE(launcher_.refused.empty());
}

}  // namespace
}  // namespace tacc::sns
