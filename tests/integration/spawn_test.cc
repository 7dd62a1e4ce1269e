// Spawning and reaping with the offered load (paper §4.5, Figure 8).
#include <gtest/gtest.h>

#include <cstdio>

#include <signal.h>
#include <sys/wait.h>

#include <cmath>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

TEST(SpawnTest, FirstTaskSpawnsAWorkerOnDemand) {
  ClusterHarness c({});
  c.Start();
  ASSERT_EQ(ClusterHarness::CountWorkers(*c.Latest(), "test"), 0);
  auto r = c.Get("/task/test?cost_ms=5");
  ASSERT_EQ(r.status, 200) << r.error << c.Log();
  EXPECT_TRUE(r.Header("X-Tacc-Fallback").empty());
  EXPECT_NE(r.Header("X-Tacc-Worker").find("test@"), std::string::npos);
  EXPECT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 1; }, 3s));
  // Unknown class: a clear error to the caller, and no spawn.
  auto u = c.Get("/task/nosuch");
  EXPECT_EQ(u.status, 404);
  EXPECT_NE(u.body.find("unknown worker class 'nosuch'"), std::string::npos) << u.body;
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

double Spread(const wire::Beacon& b) {
  double lo = 1e9, hi = -1e9;
  for (auto& w : b.workers()) {
    lo = std::min(lo, w.load());
    hi = std::max(hi, w.load());
  }
  return b.workers_size() ? hi - lo : 0;
}

double Mean(const wire::Beacon& b) {
  double t = 0;
  for (auto& w : b.workers()) t += w.load();
  return b.workers_size() ? t / b.workers_size() : 0;
}

// Sustained load above H spawns workers (one per D), queues balance within 5 s of each
// spawn, and idle workers are reaped after R once the load stops.
TEST(SpawnTest, ScalesUpBalancesAndReaps) {
  ClusterHarness c({.settings = {"manager.spawn_threshold=3", "manager.spawn_hold_s=5", "manager.reap_idle_s=2",
                                 "classes.test.max_workers=3", "classes.test.min_workers=0", "classes.test.args.cost_ms=40"}});
  c.Start();
  {
    LoadGenerator load("127.0.0.1", c.FrontendPort(), "/task/test", 12);
    auto three = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 3; }, 30s);
    ASSERT_TRUE(three) << c.Log();
    // Each time a worker joined, the loads were balanced again within 5 s.
    auto deadline = Clock::now() + 6s;
    while (Clock::now() < deadline) std::this_thread::sleep_for(100ms);
    auto hist = c.History();
    int last_count = 0;
    int balanced_spawns = 0, spawns = 0;
    std::vector<Clock::time_point> joined;  // when the 2nd and 3rd worker first appeared
    for (size_t i = 0; i < hist.size(); ++i) {
      int n = ClusterHarness::CountWorkers(hist[i].second, "test");
      if (n > last_count && last_count >= 1) {
        ++spawns;
        joined.push_back(hist[i].first);
        for (size_t j = i; j < hist.size() && hist[j].first - hist[i].first <= 5s; ++j) {
          auto& b = hist[j].second;
          if (ClusterHarness::CountWorkers(b, "test") >= n && Spread(b) <= std::max(1.5, 0.5 * Mean(b))) {
            ++balanced_spawns;
            break;
          }
        }
      }
      last_count = std::max(last_count, n);
    }
    EXPECT_EQ(spawns, 2);
    EXPECT_EQ(balanced_spawns, spawns) << "queues not balanced within 5 s of a spawn";
    // D holds spawns apart: the manager launched the 2nd and 3rd worker at least D seconds
    // apart. Measured at the manager's launches (its log's timestamps), not at the
    // workers' registrations, whose start-up times differ by up to a second under ASan.
    ASSERT_EQ(joined.size(), 2u);
    std::vector<int64_t> launched_ms;  // ms of the day of each "spawned worker of class test"
    auto log = c.Log();
    for (size_t at = log.find("spawned worker of class test"); at != std::string::npos; at = log.find("spawned worker of class test", at + 1)) {
      size_t line = log.rfind('\n', at);
      line = line == std::string::npos ? 0 : line + 1;
      // "2026-12-02 01:37:05.525 info  [manager ...] spawned worker ..."
      int h = 0, m = 0, sec = 0, ms = 0;
      if (std::sscanf(log.c_str() + line, "%*d-%*d-%*d %d:%d:%d.%d", &h, &m, &sec, &ms) == 4)
        launched_ms.push_back(((h * 60 + m) * 60 + sec) * 1000LL + ms);
    }
    ASSERT_EQ(launched_ms.size(), 3u) << log;
    EXPECT_GE(launched_ms[2] - launched_ms[1], 4900) << "the spawn hold D=5 s did not hold";
    auto counts = load.counts();
    EXPECT_EQ(counts.failed, 0u) << (counts.failures.empty() ? "" : counts.failures[0]);
    EXPECT_GT(counts.ok, 100u);
  }
  // Load gone: workers are reaped after R (down to min_workers = 0).
  auto reaped = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 0; }, 15s);
  EXPECT_TRUE(reaped) << c.Log();
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// After a burst the load falls but does not stop: no worker is ever idle for R (each
// gets some of the tasks), yet the class shrinks, because it has been light for R (its
// mean queue spread over one worker fewer stays under manager.reap_threshold).
TEST(SpawnTest, ALightSteadyLoadShrinksTheClass) {
  ClusterHarness c({.settings = {"manager.spawn_threshold=2", "manager.spawn_hold_s=1", "manager.reap_idle_s=3", "manager.reap_threshold=1",
                                 "classes.test.max_workers=3", "classes.test.min_workers=0", "classes.test.args.cost_ms=40"}});
  c.Start();
  {
    LoadGenerator burst("127.0.0.1", c.FrontendPort(), "/task/test", 12);
    ASSERT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 3; }, 30s)) << c.Log();
  }
  // One client, one 40 ms task at a time: a third of a worker's time each, never idle long.
  LoadGenerator light("127.0.0.1", c.FrontendPort(), "/task/test", 1);
  bool had_three = false;  // WaitFor reads the history from the start: count from the third worker on
  auto shrunk = c.WaitFor(
      [&](const wire::Beacon& b) {
        int n = ClusterHarness::CountWorkers(b, "test");
        had_three = had_three || n == 3;
        return had_three && n < 3;
      },
      20s);
  ASSERT_TRUE(shrunk) << c.Log();
  auto log = c.Log();
  EXPECT_NE(log.find("light for"), std::string::npos) << "a worker was reaped, but not for lightness:\n" << log;
  EXPECT_GE(ClusterHarness::CountWorkers(*shrunk, "test"), 1);
  auto counts = light.counts();
  EXPECT_EQ(counts.failed, 0u) << (counts.failures.empty() ? "" : counts.failures[0]);
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(SpawnTest, KeepsMinimumAndNeverExceedsMaximum) {
  ClusterHarness c({.settings = {"manager.spawn_threshold=1", "manager.spawn_hold_s=0.2", "classes.test.max_workers=2",
                                 "classes.test.min_workers=2", "classes.test.args.cost_ms=30"}});
  c.Start();
  ASSERT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s)) << c.Log();
  {
    LoadGenerator load("127.0.0.1", c.FrontendPort(), "/task/test", 10);
    std::this_thread::sleep_for(3s);
  }
  for (auto& [t, b] : c.History()) {
    EXPECT_LE(ClusterHarness::CountWorkers(b, "test"), 2);
    for (auto& cs : b.classes())
      if (cs.name() == "test") {
        EXPECT_LE(cs.workers() + cs.pending_spawns(), 2u);
      }
  }
}

}  // namespace
}  // namespace tacc::testing

namespace tacc::testing {
namespace {

// Where multicast is not available: components subscribe at the seed and the manager
// beacons to each subscriber; everything else works the same.
TEST(BeaconModeTest, UnicastBeaconsRunTheSameCluster) {
  ClusterHarness c({.frontends = 2, .settings = {"beacon.mode=unicast"}});
  c.Start();
  auto r = c.Get("/task/test?cost_ms=2", 1);
  EXPECT_EQ(r.status, 200) << r.error << c.Log();
  EXPECT_TRUE(r.Header("X-Tacc-Fallback").empty());
  EXPECT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 1; }, 3s));
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// A worker started by hand (as on another host) registers from the beacons and takes load.
TEST(BeaconModeTest, HandStartedWorkerJoinsFromBeacons) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.max_workers=8"}});
  c.Start();
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> all = {TACC_BINARY, "worker", "--class", "test"};
    all.insert(all.end(), c.config_args().begin(), c.config_args().end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(TACC_BINARY, argv.data());
    _exit(127);
  }
  auto joined = c.WaitFor([&](const wire::Beacon& b) {
    for (auto& w : b.workers())
      if (static_cast<pid_t>(w.pid()) == pid) return true;
    return false;
  }, 5s);
  EXPECT_TRUE(joined) << c.Log();
  auto r = c.Get("/task/test?cost_ms=1");
  EXPECT_EQ(r.status, 200);
  kill(pid, SIGTERM);  // drains, deregisters: not a crash
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto gone = c.WaitFor([&](const wire::Beacon& b) { return b.workers_size() == 0; }, 5s);
  ASSERT_TRUE(gone);
  auto last = c.Latest();
  for (auto& cs : last->classes())
    if (cs.name() == "test") {
      EXPECT_EQ(cs.crashes(), 0u);
    }
}

}  // namespace
}  // namespace tacc::testing
