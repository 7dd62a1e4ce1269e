// The front end's operator-facing side (issue 6): the admin listener, test-only worker
// arguments, and the orderly stop with its hand-over to a successor.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <set>
#include <thread>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

pid_t FrontendPid(const wire::Beacon& b, uint32_t index) {
  for (auto& f : b.frontends())
    if (f.index() == index) return static_cast<pid_t>(f.pid());
  return 0;
}

bool Connects(const std::string& host, int port) {
  boost::asio::io_context ctx;
  boost::asio::ip::tcp::socket s(ctx);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address(host), static_cast<uint16_t>(port)}, ec);
  return !ec;
}

// SIGTERM to front end `index`; waits until a successor of another pid is in the
// beacons and the old process is gone. Returns the successor's pid (0 on failure).
pid_t StopOnPurpose(ClusterHarness& c, uint32_t index, std::chrono::milliseconds timeout = 15s) {
  auto b = c.Latest();
  pid_t old = b ? FrontendPid(*b, index) : 0;
  std::set<pid_t> seen;  // WaitFor looks at the whole history: only a new pid counts
  for (auto& [t, x] : c.History()) seen.insert(FrontendPid(x, index));
  if (old <= 0 || kill(old, SIGTERM) != 0) return 0;
  auto next = c.WaitFor([&](const wire::Beacon& x) { pid_t p = FrontendPid(x, index); return p > 0 && !seen.contains(p); }, timeout);
  if (!next) return 0;
  for (auto until = Clock::now() + timeout; ProcessAlive(old) && Clock::now() < until;) std::this_thread::sleep_for(20ms);
  return ProcessAlive(old) ? 0 : FrontendPid(*next, index);
}

// Regression: /_tacc/status and /_tacc/metrics (the cluster's layout, every counter)
// used to be served to anyone who reached the public port.
TEST(FrontendTest, AdminEndpointsAreOnlyOnTheLoopbackAdminListener) {
  ClusterHarness c({});
  c.Start();
  auto b = c.Latest();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->frontends_size(), 1);
  const auto& admin = b->frontends(0).admin();
  EXPECT_EQ(admin.host(), "127.0.0.1");
  ASSERT_NE(admin.port(), 0u) << "the beacon does not say where the admin listener is";
  for (std::string path : {"/_tacc/status", "/_tacc/metrics", "/_tacc/health"}) {
    auto pub = c.Get(path);
    EXPECT_EQ(pub.status, 404) << path << " is still served on the public port: " << pub.body;
  }
  auto status = c.GetAdmin("/_tacc/status");
  EXPECT_EQ(status.status, 200) << status.error;
  EXPECT_NE(status.body.find("\"frontends\":[{\"index\":0"), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"admin\":{\"host\":\"127.0.0.1\",\"port\":" + std::to_string(admin.port()) + "}"), std::string::npos) << status.body;
  auto metrics = c.GetAdmin("/_tacc/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("tacc_http_requests_total"), std::string::npos);
  EXPECT_EQ(c.GetAdmin("/_tacc/health").body, "ok\n");
  EXPECT_EQ(c.GetAdmin("/task/test").status, 404) << "the admin listener runs no service";
  // Bound to 127.0.0.1 itself, not to every address: another loopback address of this
  // host does not reach it (the public port, bound the same way, neither).
  EXPECT_TRUE(Connects("127.0.0.1", static_cast<int>(admin.port())));
  EXPECT_FALSE(Connects("127.0.0.2", static_cast<int>(admin.port())));
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// Regression: ?crash=1 in any URL used to kill a worker. Fault injection now needs a
// class configured for it; in another class the request is refused and nothing dies.
TEST(FrontendTest, FaultInjectionWorksOnlyWhereTheClassAllowsIt) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=1", "classes.faulty.worker=test",
                                 "classes.faulty.min_workers=1", "classes.faulty.args.allow_faults=true", "stub.max_retries=0"}});
  c.Start();
  auto ready = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 1 && ClusterHarness::CountWorkers(b, "faulty") == 1; },
                         10s);
  ASSERT_TRUE(ready) << c.Log();
  int port = c.FrontendPort();
  // Not allowed: a clear 400, and the worker lives on.
  for (std::string arg : {"crash=1", "fail=1"}) {
    auto r = HttpRequest("127.0.0.1", port, "POST", "/task/test?" + arg, "input");
    EXPECT_EQ(r.status, 400) << arg << ": " << r.body;
    EXPECT_NE(r.body.find("allow_faults"), std::string::npos) << r.body;
  }
  // Allowed on purpose: the faults happen.
  auto fail = HttpRequest("127.0.0.1", port, "POST", "/task/faulty?fail=1", "input");
  EXPECT_EQ(fail.status, 400);
  EXPECT_NE(fail.body.find("asked to fail"), std::string::npos) << fail.body;
  auto crash = HttpRequest("127.0.0.1", port, "POST", "/task/faulty?crash=1", "original");
  EXPECT_EQ(crash.status, 200);
  EXPECT_FALSE(crash.Header("X-Tacc-Fallback").empty()) << "the crash did not happen";
  auto crashed = c.WaitFor(
      [](const wire::Beacon& b) {
        for (auto& cs : b.classes())
          if (cs.name() == "faulty") return cs.crashes() >= 1;
        return false;
      },
      10s);
  EXPECT_TRUE(crashed);
  auto same = c.Latest();
  for (auto& cs : same->classes())
    if (cs.name() == "test") {
      EXPECT_EQ(cs.crashes(), 0u);
    }
  bool test_worker_same = false;
  for (auto& w : same->workers())
    for (auto& w0 : ready->workers())
      if (w.worker_class() == "test" && w.pid() == w0.pid()) test_worker_same = true;
  EXPECT_TRUE(test_worker_same) << "the test class's worker was replaced";
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// SIGTERM to every front end in turn while clients keep sending requests: the
// successor takes over each port's listening socket before the old process stops
// accepting, requests in flight finish, and no request fails.
TEST(FrontendTest, RollingRestartOfEveryFrontEndUnderLoadFailsNoRequest) {
  ClusterHarness c({.frontends = 2,
                    .settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2", "classes.test.args.cost_ms=5",
                                 "frontend.stop_grace_ms=5000"}});
  c.Start();
  auto ready = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2 && b.frontends_size() == 2; }, 10s);
  ASSERT_TRUE(ready) << c.Log();
  int port0 = c.FrontendPort(0), port1 = c.FrontendPort(1);
  LoadGenerator load0("127.0.0.1", port0, "/task/test", 4);
  LoadGenerator load1("127.0.0.1", port1, "/task/test", 4);
  std::this_thread::sleep_for(500ms);
  for (uint32_t i : {0u, 1u}) {
    auto before = load0.counts().ok + load1.counts().ok;
    pid_t next = StopOnPurpose(c, i);
    ASSERT_NE(next, 0) << "front end " << i << " was not replaced in time\n" << c.Log();
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(load0.counts().ok + load1.counts().ok, before) << "no progress across the restart of front end " << i;
  }
  std::this_thread::sleep_for(300ms);
  load0.Stop();
  load1.Stop();
  EXPECT_EQ(c.FrontendPort(0), port0);
  EXPECT_EQ(c.FrontendPort(1), port1);
  auto n0 = load0.counts(), n1 = load1.counts();
  EXPECT_EQ(n0.failed + n1.failed, 0u) << "failed requests, e.g. "
                                       << (!n0.failures.empty() ? n0.failures[0] : !n1.failures.empty() ? n1.failures[0] : "");
  EXPECT_EQ(n0.fallback + n1.fallback, 0u);
  EXPECT_GT(n0.ok, 50u);
  EXPECT_GT(n1.ok, 50u);
  auto log = c.Log();
  size_t taken = 0;
  for (size_t p = log.find("took over the listening sockets"); p != std::string::npos; p = log.find("took over the listening sockets", p + 1)) ++taken;
  EXPECT_EQ(taken, 2u) << log;
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// Regression: the manager counted every front-end restart as a crash, so orderly stops
// (e.g. a rolling upgrade) used up the crash budget and restarts were suspended.
TEST(FrontendTest, OrderlyStopIsNotCountedAsACrash) {
  ClusterHarness c({.settings = {"manager.restart_max=1", "manager.restart_window_s=600", "manager.restart_backoff_min_ms=3000",
                                 "manager.restart_backoff_max_ms=3000"}});
  c.Start();
  int port = c.FrontendPort(0);
  for (int round = 0; round < 3; ++round) {
    pid_t next = StopOnPurpose(c, 0, 10s);
    ASSERT_NE(next, 0) << "round " << round << ": front end 0 was not replaced\n" << c.Log();
    auto r = HttpRequest("127.0.0.1", port, "GET", "/task/test?cost_ms=1");
    EXPECT_EQ(r.status, 200) << r.error;
  }
  EXPECT_EQ(c.Log().find("restarts suspended"), std::string::npos) << c.Log();
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// Without a manager that restarts it, SIGTERM stops a front end within the grace
// period: requests in flight are answered, then it exits 0.
TEST(FrontendTest, StandaloneFrontEndFinishesItsRequestInFlightAndExits) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=1"}});
  c.Start();
  ASSERT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 1; }, 10s));
  // A second, hand-started front end (index 5): the manager does not manage it.
  std::vector<std::string> args = {"frontend", "--index", "5", "--port", "0"};
  args.insert(args.end(), c.config_args().begin(), c.config_args().end());
  args.insert(args.end(), {"--set", "frontend.restart_manager=false"});
  CommandResult result;
  std::thread runner([&] { result = RunTacc(args, 20s); });
  auto listed = c.WaitFor([](const wire::Beacon& b) { return FrontendPid(b, 5) > 0; }, 10s);
  ASSERT_TRUE(listed) << c.Log();
  pid_t pid = FrontendPid(*listed, 5);
  int port = 0;
  for (auto& f : listed->frontends())
    if (f.index() == 5) port = static_cast<int>(f.http().port());
  HttpReply slow;
  std::thread client([&] { slow = HttpRequest("127.0.0.1", port, "GET", "/task/test?cost_ms=700"); });
  std::this_thread::sleep_for(200ms);  // the request is in flight
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  client.join();
  runner.join();
  EXPECT_EQ(slow.status, 200) << slow.error;
  EXPECT_FALSE(slow.Header("X-Tacc-Worker").empty());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("starts no successor"), std::string::npos) << result.output;
  EXPECT_FALSE(Connects("127.0.0.1", port)) << "still listening after the stop";
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

}  // namespace
}  // namespace tacc::testing

namespace tacc::testing {
namespace {

int FreeTcpPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// `tacc up --dispatch relay`: a front door on frontdoor.address:port in front of the local
// front ends, learnt from the beacons.
TEST(FrontendTest, UpWithDispatchPutsOneAddressInFrontOfEveryFrontEnd) {
  int door = FreeTcpPort();
  ClusterHarness cluster({.frontends = 2,
                          .settings = {"frontdoor.port=" + std::to_string(door), "frontdoor.health_interval_ms=200"},
                          .up_flags = {"--dispatch", "relay"}});
  cluster.Start();
  std::set<std::string> pids;
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && pids.size() < 2) {
    auto r = HttpRequest("127.0.0.1", door, "GET", "/whoami", "", 2s);
    if (r.status == 200) {
      auto at = r.body.find("pid=");
      pids.insert(r.body.substr(at, r.body.find(' ', at) - at));
    } else {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_EQ(pids.size(), 2u) << "the front door should reach both front ends\n" << cluster.Log();
  std::string leftover;
  EXPECT_TRUE(cluster.Stop(&leftover)) << leftover;
  // The dispatcher went with the cluster: nothing answers on the door any more.
  EXPECT_EQ(HttpRequest("127.0.0.1", door, "GET", "/whoami", "", 1s).status, 0);
}

}  // namespace
}  // namespace tacc::testing
