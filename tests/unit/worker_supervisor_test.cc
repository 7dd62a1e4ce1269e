#include "sns/worker_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

#include "fake_launcher.h"

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = WorkerSupervisor::Clock;

// Fake time: an arbitrary fixed origin, advanced by hand.
const Clock::time_point kT0 = Clock::time_point{} + 1000h;

// A policy the test scripts: spawns and reaps what it is told, and remembers the view.
class ScriptedPolicy : public SpawnPolicy {
 public:
  SpawnDecision Decide(const ClassLoadView& v, Clock::time_point) const override {
    v.Workers();  // a reaping policy lists the workers
    last = v;
    SpawnDecision d;
    d.spawn = spawn;
    d.reap = reap;
    d.reason = "scripted";
    return d;
  }
  int spawn = 0;
  std::vector<std::string> reap;
  mutable ClassLoadView last;
};

// Connections are opaque keys: any distinct addresses do.
int conns[16];

class WorkerSupervisorTest : public ::testing::Test {
 protected:
  WorkerSupervisorTest() {
    config_.manager.spawn_timeout_ms = 10000;
    config_.manager.restart_backoff_min_ms = 200;
    config_.manager.restart_backoff_max_ms = 10000;
    config_.manager.restart_window_s = 60;
    config_.manager.restart_max = 3;
    ClassConfig c;
    c.name = "echo";
    c.min_workers = 0;
    c.max_workers = 2;
    config_.classes.clear();  // the default configuration has a class of its own
    config_.classes["echo"] = c;
    sup_.set_worker_args({"--manager", "127.0.0.1:1"});
  }

  // The worker launched last registers with its spawn token.
  void RegisterLast(const std::string& id, int conn_index, Clock::time_point now) {
    const auto& argv = launcher_.launches.back();
    auto tok = std::find(argv.begin(), argv.end(), "--spawn-token");
    ASSERT_NE(tok, argv.end());
    std::string token = *(tok + 1);
    pid_t pid = sup_.PendingPid(token);
    ASSERT_EQ(pid, launcher_.last_pid());
    WorkerDirectory::Registration r;
    r.id = id;
    r.cls = "echo";
    r.address.set_port(1);
    r.launched_pid = pid;
    ASSERT_TRUE(dir_.Register(&conns[conn_index], r, now).ok());
    sup_.Registered(token);
  }

  Config config_;
  FakeLauncher launcher_;
  WorkerDirectory dir_{0.5};
  ScriptedPolicy policy_;
  WorkerSupervisor sup_{config_, launcher_, dir_, policy_, "42"};
};

TEST_F(WorkerSupervisorTest, SpawnLaunchesAWorkerWithAToken) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  ASSERT_EQ(launcher_.launches.size(), 1u);
  std::vector<std::string> want = {"worker", "--class", "echo", "--spawn-token", "42-1", "--manager", "127.0.0.1:1"};
  EXPECT_EQ(launcher_.launches[0], want);
  EXPECT_EQ(sup_.PendingCount("echo"), 1);
  EXPECT_EQ(sup_.PendingPid("42-1"), launcher_.last_pid());
  EXPECT_EQ(sup_.PendingPid("forged"), 0);
  EXPECT_EQ(sup_.PendingPid(""), 0);
  RegisterLast("echo-1", 0, kT0 + 1s);
  EXPECT_EQ(sup_.PendingCount("echo"), 0);
  EXPECT_EQ(dir_.Live("echo"), 1);
}

TEST_F(WorkerSupervisorTest, SpawnTimeoutIsACrashAndKillsThePendingPidByHandle) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  pid_t pid = launcher_.last_pid();
  EXPECT_TRUE(sup_.Tick(kT0 + 9s, false).empty());
  EXPECT_TRUE(launcher_.kills.empty());
  sup_.Tick(kT0 + 10s, false);
  EXPECT_TRUE(launcher_.KilledWith(pid, SIGKILL));
  EXPECT_EQ(sup_.TotalCrashes("echo"), 1u);
  // The crash schedules a restart (200 ms back-off), not a launch at once.
  EXPECT_EQ(launcher_.launches.size(), 1u);
  EXPECT_EQ(sup_.PendingCount("echo"), 1);  // the scheduled restart
  sup_.Tick(kT0 + 10s + 200ms, false);
  EXPECT_EQ(launcher_.launches.size(), 2u);
}

TEST_F(WorkerSupervisorTest, CrashRestartsAfterTheBackOff) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  auto lost = dir_.Remove(&conns[0]);
  ASSERT_TRUE(lost.has_value());
  launcher_.alive.erase(lost->launched_pid);  // the process died
  sup_.OnWorkerLost(*lost, "connection reset", kT0 + 1s);
  EXPECT_EQ(sup_.TotalCrashes("echo"), 1u);
  EXPECT_TRUE(launcher_.kills.empty());  // nothing to kill: it is gone
  sup_.Tick(kT0 + 1s + 199ms, false);
  EXPECT_EQ(launcher_.launches.size(), 1u);  // not yet
  sup_.Tick(kT0 + 1s + 200ms, false);
  ASSERT_EQ(launcher_.launches.size(), 2u);  // restarted
  EXPECT_EQ(launcher_.launches[1][2], "echo");
  // A second crash doubles the delay.
  RegisterLast("echo-1", 1, kT0 + 2s);
  auto again = dir_.Remove(&conns[1]);
  sup_.OnWorkerLost(*again, "connection reset", kT0 + 3s);
  EXPECT_TRUE(launcher_.KilledWith(again->launched_pid, SIGKILL));  // alive but silent: hung
  sup_.Tick(kT0 + 3s + 399ms, false);
  EXPECT_EQ(launcher_.launches.size(), 2u);
  sup_.Tick(kT0 + 3s + 400ms, false);
  EXPECT_EQ(launcher_.launches.size(), 3u);
}

TEST_F(WorkerSupervisorTest, LeavingOrDrainingWorkersAreNoCrash) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  dir_.MarkLeaving(&conns[0]);
  sup_.OnWorkerLost(*dir_.Remove(&conns[0]), "closed", kT0);
  EXPECT_EQ(sup_.TotalCrashes("echo"), 0u);
  sup_.Tick(kT0 + 1h, false);
  EXPECT_EQ(launcher_.launches.size(), 1u);
}

TEST_F(WorkerSupervisorTest, ExitBeforeRegisteringIsACrash) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  pid_t pid = launcher_.last_pid();
  EXPECT_FALSE(sup_.OnProcessExit(12345, "exited with 1", kT0));  // not ours
  EXPECT_TRUE(sup_.OnProcessExit(pid, "exited with 1", kT0));
  EXPECT_EQ(sup_.TotalCrashes("echo"), 1u);
  EXPECT_EQ(sup_.PendingPid("42-1"), 0);
}

TEST_F(WorkerSupervisorTest, CrashBudgetSuspendsRestartsAndSpawns) {
  config_.classes["echo"].max_workers = 100;
  for (int i = 0; i < 4; ++i) sup_.RecordCrash("echo", "test crash", kT0 + i * 1ms);  // restart_max 3
  EXPECT_TRUE(sup_.Suspended("echo", kT0 + 1s));
  EXPECT_EQ(sup_.PendingCount("echo"), 3);  // the first three were scheduled; the fourth was not
  sup_.Tick(kT0 + 30s, false);              // all due, but suspended
  EXPECT_TRUE(launcher_.launches.empty());
  policy_.spawn = 1;
  sup_.Tick(kT0 + 31s, false);
  EXPECT_TRUE(launcher_.launches.empty());
  EXPECT_FALSE(sup_.Spawn("echo", "test", kT0 + 31s));
  EXPECT_FALSE(sup_.SpawnOnDemand("echo", kT0 + 31s));
  EXPECT_TRUE(launcher_.launches.empty());
  // Once the crashes age out of the window, spawning resumes.
  EXPECT_FALSE(sup_.Suspended("echo", kT0 + 61s));
  sup_.Tick(kT0 + 61s, false);
  EXPECT_EQ(launcher_.launches.size(), 1u);
}

TEST_F(WorkerSupervisorTest, RestartsAndSpawnsNeverExceedMaxWorkers) {
  // max_workers 2: one registered worker and one policy spawn pending is the maximum.
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  ASSERT_TRUE(sup_.Spawn("echo", "policy", kT0));
  EXPECT_FALSE(sup_.Spawn("echo", "another", kT0));  // at max
  // A second worker registers without a token (adopted), so live + pending = 3 > max:
  // nothing more may launch, whatever asks.
  WorkerDirectory::Registration r;
  r.id = "echo-2";
  r.cls = "echo";
  ASSERT_TRUE(dir_.Register(&conns[1], r, kT0).ok());
  // echo-2 crashes while at the maximum with a policy spawn pending: its restart is
  // scheduled but must not launch while live + launching reach max_workers.
  sup_.OnWorkerLost(*dir_.Remove(&conns[1]), "reset", kT0 + 1s);
  policy_.spawn = 5;
  size_t before = launcher_.launches.size();
  sup_.Tick(kT0 + 2s, false);
  EXPECT_EQ(launcher_.launches.size(), before);
  EXPECT_FALSE(sup_.SpawnOnDemand("echo", kT0 + 2s));
  EXPECT_EQ(launcher_.launches.size(), before);
  // The pending spawn fails to register: one place frees, and exactly one launch fills it.
  policy_.spawn = 0;
  sup_.RecordCrash("echo", "test crash", kT0 + 10s);  // a restart due at +10.4 s
  sup_.Tick(kT0 + 10s, false);                        // the pending spawn's deadline
  EXPECT_EQ(launcher_.launches.size(), before);
  sup_.Tick(kT0 + 12s, false);  // both restarts due; one fits
  EXPECT_EQ(launcher_.launches.size(), before + 1);
  policy_.spawn = 5;
  sup_.Tick(kT0 + 13s, false);
  EXPECT_EQ(launcher_.launches.size(), before + 1);
  EXPECT_EQ(dir_.Live("echo") + sup_.PendingCount("echo"), 2);
}

TEST_F(WorkerSupervisorTest, OnDemandOnlyWhenTheClassHasNoWorkerAndNonePending) {
  EXPECT_FALSE(sup_.SpawnOnDemand("unknown", kT0));
  ASSERT_TRUE(sup_.SpawnOnDemand("echo", kT0));
  EXPECT_FALSE(sup_.SpawnOnDemand("echo", kT0));  // one pending
  RegisterLast("echo-1", 0, kT0);
  EXPECT_FALSE(sup_.SpawnOnDemand("echo", kT0));  // one live
  EXPECT_EQ(launcher_.launches.size(), 1u);
  // A scheduled restart counts as pending too.
  dir_.MarkLeaving(&conns[0]);
  sup_.OnWorkerLost(*dir_.Remove(&conns[0]), "closed", kT0);
  sup_.RecordCrash("echo", "test crash", kT0);
  EXPECT_FALSE(sup_.SpawnOnDemand("echo", kT0));
  EXPECT_EQ(launcher_.launches.size(), 1u);
}

TEST_F(WorkerSupervisorTest, PolicySeesTheDirectoryAndReapsMarkDraining) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  ASSERT_TRUE(dir_.Report(&conns[0], 4, 0, 0, kT0).ok());
  policy_.reap = {"echo-1", "nobody"};
  auto reaped = sup_.Tick(kT0 + 5s, false);
  EXPECT_EQ(policy_.last.live, 1);
  EXPECT_DOUBLE_EQ(policy_.last.mean_load, 2);
  ASSERT_EQ(policy_.last.workers.size(), 1u);
  EXPECT_EQ(policy_.last.workers[0].idle_for, Clock::duration(5s));
  EXPECT_EQ(reaped, std::vector<std::string>{"echo-1"});
  EXPECT_TRUE(dir_.Find("echo-1")->draining);
  EXPECT_TRUE(sup_.Tick(kT0 + 6s, false).empty());  // once
  EXPECT_EQ(policy_.last.live, 0);
}

// The supervisor tells the policy since when a class has been light (its load would stay
// under manager.reap_threshold with one worker fewer), across ticks; heavier load or a
// reap starts the clock again.
TEST_F(WorkerSupervisorTest, TracksSinceWhenAClassIsLight) {
  config_.manager.reap_threshold = 1.0;
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-2", 1, kT0);
  ASSERT_TRUE(dir_.Report(&conns[0], 0, 0, 0, kT0).ok());
  ASSERT_TRUE(dir_.Report(&conns[1], 0, 0, 0, kT0).ok());
  sup_.Tick(kT0 + 1s, false);
  EXPECT_EQ(policy_.last.light_since, kT0 + 1s);
  sup_.Tick(kT0 + 2s, false);
  EXPECT_EQ(policy_.last.light_since, kT0 + 1s) << "the clock restarted while the class stayed light";
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(dir_.Report(&conns[0], 8, 0, 0, kT0 + 2s).ok());  // heavy now
  sup_.Tick(kT0 + 3s, false);
  EXPECT_EQ(policy_.last.light_since, Clock::time_point{});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(dir_.Report(&conns[0], 0, 0, 0, kT0 + 3s).ok());  // light again
  sup_.Tick(kT0 + 4s, false);
  EXPECT_EQ(policy_.last.light_since, kT0 + 4s);
  policy_.reap = {"echo-2"};
  EXPECT_EQ(sup_.Tick(kT0 + 5s, false), std::vector<std::string>{"echo-2"});
  policy_.reap.clear();
  sup_.Tick(kT0 + 6s, false);  // one worker left: nothing to spare, not light
  EXPECT_EQ(policy_.last.light_since, Clock::time_point{});
}

TEST_F(WorkerSupervisorTest, AdoptingRunsNoPolicyButStillTimesOutLaunches) {
  policy_.spawn = 1;
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  sup_.Tick(kT0 + 10s, true);
  EXPECT_EQ(sup_.TotalCrashes("echo"), 1u);
  EXPECT_EQ(launcher_.launches.size(), 1u);
}

TEST_F(WorkerSupervisorTest, FailedLaunchIsACrash) {
  launcher_.fail_launches = true;
  EXPECT_FALSE(sup_.Spawn("echo", "test", kT0));
  EXPECT_EQ(sup_.TotalCrashes("echo"), 1u);
}

TEST_F(WorkerSupervisorTest, SignalsOnlyWhatItLaunched) {
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  RegisterLast("echo-1", 0, kT0);
  ASSERT_TRUE(sup_.Spawn("echo", "test", kT0));
  WorkerDirectory::Registration r;  // adopted: reports a pid we never launched
  r.id = "echo-9";
  r.cls = "echo";
  r.pid = 1;
  ASSERT_TRUE(dir_.Register(&conns[2], r, kT0).ok());
  sup_.SignalAll(SIGTERM);
  EXPECT_EQ(launcher_.kills.size(), 2u);
  EXPECT_TRUE(launcher_.refused.empty());
  for (auto& [pid, sig] : launcher_.kills) EXPECT_TRUE(launcher_.launched.contains(pid));
}

}  // namespace
}  // namespace tacc::sns
