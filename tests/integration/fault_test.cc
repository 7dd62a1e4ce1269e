// Process-peer fault tolerance (paper §3.1.3): kill -9 of any process is masked.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

std::set<pid_t> WorkerPids(const wire::Beacon& b) {
  std::set<pid_t> s;
  for (auto& w : b.workers()) s.insert(static_cast<pid_t>(w.pid()));
  return s;
}

// Processes whose command line is `tacc manager ... cluster.name=<name> ...`.
int CountManagers(const std::string& cluster) {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream f(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(" manager ") != std::string::npos && cmd.find("cluster.name=" + cluster + " ") != std::string::npos) ++n;
  }
  return n;
}

TEST(FaultTest, KilledWorkerUnderLoadIsMaskedAndReplaced) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2", "classes.test.args.cost_ms=20",
                                 "stub.task_timeout_ms=2000"}});
  c.Start();
  auto two = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s);
  ASSERT_TRUE(two) << c.Log();
  auto before = WorkerPids(*two);
  LoadGenerator load("127.0.0.1", c.FrontendPort(), "/task/test", 8);
  std::this_thread::sleep_for(1s);
  pid_t victim = *before.begin();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  // A replacement (new pid) comes up and the class is back to two workers.
  auto back = c.WaitFor(
      [&](const wire::Beacon& b) {
        auto now = WorkerPids(b);
        return now.size() == 2 && !now.contains(victim);
      },
      10s);
  std::this_thread::sleep_for(1s);
  load.Stop();
  ASSERT_TRUE(back) << c.Log();
  auto counts = load.counts();
  EXPECT_EQ(counts.failed, 0u) << "unanswered requests, e.g. " << (counts.failures.empty() ? "" : counts.failures[0]);
  EXPECT_GT(counts.ok, 100u);
  // Tasks were in flight on the victim when it died, and were answered by a retry on
  // the other worker, not by the fallback.
  EXPECT_GE(counts.retried, 1u) << "no retry happened: the kill hit an idle worker or retries do not work";
  EXPECT_EQ(counts.fallback, 0u);
  for (auto& cs : back->classes())
    if (cs.name() == "test") {
      EXPECT_GE(cs.crashes(), 1u);
    }
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(FaultTest, KilledManagerIsRestartedByOneFrontEndWhileServingContinues) {
  ClusterHarness c({.frontends = 2, .settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2", "classes.test.args.cost_ms=10"}});
  c.Start();
  auto ready = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2 && b.frontends_size() == 2; }, 10s);
  ASSERT_TRUE(ready) << c.Log();
  uint64_t old_epoch = ready->epoch();
  pid_t old_manager = static_cast<pid_t>(ready->manager_pid());
  auto workers = WorkerPids(*ready);
  LoadGenerator load0("127.0.0.1", c.FrontendPort(0), "/task/test", 3);
  LoadGenerator load1("127.0.0.1", c.FrontendPort(1), "/task/test", 3);
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(kill(old_manager, SIGKILL), 0);
  auto killed_at = Clock::now();
  // While the manager is down, requests are still served from the cached beacons.
  std::this_thread::sleep_for(700ms);
  auto mid = load0.counts().ok + load1.counts().ok;
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(load0.counts().ok + load1.counts().ok, mid) << "no progress while the manager was down";
  // A new manager (new epoch) beacons, and the same workers re-register with it.
  auto fresh = c.WaitFor(
      [&](const wire::Beacon& b) { return b.epoch() != old_epoch && WorkerPids(b) == workers && b.frontends_size() == 2; }, 10s);
  ASSERT_TRUE(fresh) << c.Log();
  EXPECT_LT(Clock::now() - killed_at, 8s);
  std::this_thread::sleep_for(1500ms);  // time for a second restart, if the election were wrong
  load0.Stop();
  load1.Stop();
  EXPECT_EQ(CountManagers(c.name()), 1);
  std::set<uint64_t> epochs;
  for (auto& [t, b] : c.History())
    if (b.epoch() != old_epoch) epochs.insert(b.epoch());
  EXPECT_EQ(epochs.size(), 1u) << "more than one replacement manager beaconed";
  auto l = c.Log();
  size_t restarts = 0;
  for (size_t p = l.find("restarts the manager"); p != std::string::npos; p = l.find("restarts the manager", p + 1)) ++restarts;
  EXPECT_EQ(restarts, 1u) << l;
  auto counts0 = load0.counts(), counts1 = load1.counts();
  EXPECT_EQ(counts0.failed + counts1.failed, 0u);
  EXPECT_EQ(counts0.fallback + counts1.fallback, 0u);
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(FaultTest, KilledFrontEndIsRestartedOnTheSamePort) {
  ClusterHarness c({});
  c.Start();
  auto b = c.Latest();
  pid_t fe = static_cast<pid_t>(b->frontends(0).pid());
  int port = c.FrontendPort(0);
  ASSERT_EQ(c.Get("/task/test?cost_ms=1").status, 200);
  ASSERT_EQ(kill(fe, SIGKILL), 0);
  auto back = c.WaitFor([&](const wire::Beacon& x) { return x.frontends_size() == 1 && static_cast<pid_t>(x.frontends(0).pid()) != fe; }, 10s);
  ASSERT_TRUE(back) << c.Log();
  EXPECT_EQ(static_cast<int>(back->frontends(0).http().port()), port);
  auto r = HttpRequest("127.0.0.1", port, "GET", "/task/test?cost_ms=1");
  EXPECT_EQ(r.status, 200) << r.error;
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(FaultTest, TaskThatCrashesWorkersGetsTheFallbackAndWorkersComeBack) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2", "manager.restart_backoff_min_ms=50",
                                 "classes.test.args.allow_faults=true"}});
  c.Start();
  auto two = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s);
  ASSERT_TRUE(two);
  auto r = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/task/test?crash=1", "original bytes");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "original bytes");
  EXPECT_FALSE(r.Header("X-Tacc-Fallback").empty());
  EXPECT_EQ(r.Header("X-Tacc-Attempts"), "2");  // tried once more elsewhere, then fell back
  auto old = WorkerPids(*two);
  auto back = c.WaitFor(
      [&](const wire::Beacon& b) {
        auto now = WorkerPids(b);
        return now.size() == 2 && now != old;
      },
      10s);
  EXPECT_TRUE(back) << c.Log();
  EXPECT_EQ(c.Get("/task/test?cost_ms=1").status, 200);
}

TEST(FaultTest, CrashLoopIsBoundedAndReported) {
  // A class whose worker cannot start: every launch fails at once.
  ClusterHarness c({.settings = {"classes.broken.worker=test", "classes.broken.min_workers=1", "classes.broken.args.mode=bogus",
                                 "manager.restart_backoff_min_ms=50", "manager.restart_backoff_max_ms=400", "manager.restart_max=3",
                                 "manager.restart_window_s=60"}});
  c.Start();
  auto suspended = c.WaitFor(
      [](const wire::Beacon& b) {
        for (auto& cs : b.classes())
          if (cs.name() == "broken" && cs.restarts_suspended()) return true;
        return false;
      },
      15s);
  ASSERT_TRUE(suspended) << c.Log();
  std::this_thread::sleep_for(2s);
  auto last = c.Latest();
  for (auto& cs : last->classes())
    if (cs.name() == "broken") {
      EXPECT_EQ(cs.crashes(), 4u) << "launches continued after suspension";
      EXPECT_TRUE(cs.restarts_suspended());
    }
  EXPECT_NE(c.Log().find("restarts suspended"), std::string::npos);
  // The rest of the cluster is unaffected.
  EXPECT_EQ(c.Get("/task/test?cost_ms=1").status, 200);
}

TEST(FaultTest, StoppingTacUpLeavesNothingBehind) {
  ClusterHarness c({.frontends = 2, .settings = {"classes.test.min_workers=2"}});
  c.Start();
  ASSERT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s));
  // Kill the manager too, so that a front end's child becomes the manager.
  ASSERT_EQ(kill(static_cast<pid_t>(c.Latest()->manager_pid()), SIGKILL), 0);
  auto old = c.Latest()->epoch();
  ASSERT_TRUE(c.WaitFor([&](const wire::Beacon& b) { return b.epoch() != old; }, 10s));
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

}  // namespace
}  // namespace tacc::testing
