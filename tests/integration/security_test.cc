// Nobody gets in who doesn't belong (issue 6): cluster connections prove the cluster
// key; a key holder still speaks for one worker per connection; processes hold only
// their own sockets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <map>

#include "cluster_harness.h"
#include "common/cluster_key.h"
#include "wire/connection.h"
#include "wire/datagram_seal.h"

namespace tacc::testing {
namespace {

namespace asio = boost::asio;

// Runs `body` on a private io_context to completion.
template <typename T>
T RunSync(std::function<asio::awaitable<T>(asio::io_context&)> body) {
  asio::io_context ctx;
  auto fut = asio::co_spawn(ctx, body(ctx), asio::use_future);
  ctx.run();
  return fut.get();
}

wire::ClusterAuthPtr AuthFrom(const std::string& cluster, const ClusterKey& key) {
  return std::make_shared<const wire::ClusterAuth>(wire::ClusterAuth{cluster, key});
}

wire::Envelope Registration(const std::string& id, int port, uint32_t pid) {
  wire::Envelope e;
  auto* r = e.mutable_register_worker();
  r->set_id(id);
  r->set_worker_class("test");
  r->mutable_address()->set_host("127.0.0.1");
  r->mutable_address()->set_port(static_cast<uint32_t>(port));
  r->set_pid(pid);
  r->set_host("127.0.0.1");
  return e;
}

bool Lists(const wire::Beacon& b, const std::string& id) {
  for (auto& w : b.workers())
    if (w.id() == id) return true;
  return false;
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = std::make_unique<ClusterHarness>(ClusterHarness::Options{.settings = {"classes.test.min_workers=1", "manager.spawn_policy=fixed"}});
    c_->Start();
    auto b = c_->WaitFor([](const wire::Beacon& x) { return x.workers_size() == 1; }, 10s);
    ASSERT_TRUE(b);
    beacon_ = *b;
    manager_.set_host("127.0.0.1");
    manager_.set_port(beacon_.manager().port());
  }
  std::unique_ptr<ClusterHarness> c_;
  wire::Beacon beacon_;
  wire::Endpoint manager_;
};

TEST_F(SecurityTest, PeerWithAnotherKeyCannotRegisterAndChangesNothing) {
  auto wrong = ClusterKey::Generate();
  auto auth = AuthFrom(c_->name(), *wrong);
  auto to = manager_;
  Status s = RunSync<Status>([&](asio::io_context&) -> asio::awaitable<Status> {
    wire::ConnectionOptions o;
    o.auth = auth;
    auto conn = co_await wire::Connect(to, o, 2s);
    co_return conn.ok() ? Status::Ok() : conn.status();
  });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.ToString();
  // Nothing joined; the cluster still serves.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(c_->Latest()->workers_size(), 1);
  EXPECT_EQ(c_->Get("/task/test?cost_ms=1").status, 200);
  EXPECT_NE(c_->Log().find("refused cluster connection"), std::string::npos) << c_->Log();
}

TEST_F(SecurityTest, OneConnectionRegistersExactlyOneWorker) {
  auto key = ClusterKey::Load(c_->KeyFile());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto auth = AuthFrom(c_->name(), *key);
  auto to = manager_;
  struct Outcome {
    Status first, second;
    bool closed = false;
  };
  auto out = RunSync<Outcome>([&](asio::io_context& ctx) -> asio::awaitable<Outcome> {
    Outcome o;
    wire::ConnectionOptions opts;
    opts.auth = auth;
    auto conn = co_await wire::Connect(to, opts, 2s);
    if (!conn.ok()) {
      o.first = conn.status();
      co_return o;
    }
    auto c = *conn;
    c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {}, [](const wire::Connection::Ptr&, const Status&) {});
    auto r1 = co_await c->Call(Registration("test@127.0.0.1:1", 1, 0), 2s);
    o.first = r1.ok() ? Status::Ok() : r1.status();
    auto r2 = co_await c->Call(Registration("test@127.0.0.1:2", 2, 0), 2s);
    o.second = r2.ok() ? Status::Ok() : r2.status();
    asio::steady_timer t(ctx);
    t.expires_after(200ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    o.closed = !c->is_open();
    c->Close(Status::Cancelled("done"));
    co_return o;
  });
  EXPECT_TRUE(out.first.ok()) << out.first.ToString();
  EXPECT_FALSE(out.second.ok());
  EXPECT_EQ(out.second.kind(), ErrorKind::kInvalidArgument) << out.second.ToString();
  EXPECT_TRUE(out.closed);
  // The second id never appeared in a beacon.
  auto history = c_->History();
  for (auto& [t, b] : history) EXPECT_FALSE(Lists(b, "test@127.0.0.1:2"));
}

// Workers report their load as sealed datagrams to the manager's port. Forged ones (no
// MAC, another key) claiming a huge load for any token are refused, counted in the
// beacons and logged at a limited rate, and no load moves; real ones keep arriving.
TEST_F(SecurityTest, ForgedLoadDatagramsChangeNothing) {
  // The worker logs its reporting mode just after the manager logs its registration:
  // wait for the line (a CI run under ASan read the log in between).
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (c_->Log().find("load reports by datagram") == std::string::npos && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(c_->Log().find("load reports by datagram"), std::string::npos) << c_->Log();
  const uint64_t refused_before = beacon_.datagrams_refused();
  auto other = ClusterKey::Generate();
  ASSERT_TRUE(other.ok());
  asio::io_context io;
  asio::ip::udp::socket tx(io, asio::ip::udp::v4());
  asio::ip::udp::endpoint to(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(manager_.port()));
  constexpr int kForged = 40;
  for (int i = 0; i < kForged / 2; ++i) {
    wire::LoadAnnouncement a;
    a.set_token(static_cast<uint64_t>(i));
    a.set_seq(1'000'000);
    a.mutable_report()->set_weighted_load(1000);
    a.mutable_report()->set_queue_length(1000);
    tx.send_to(asio::buffer(wire::Seal(*other, c_->name(), wire::DATAGRAM_LOAD_REPORT, a.SerializeAsString(), wire::NowUnixMs())), to);
    wire::SealedDatagram bare;  // what a forger without any key can make
    bare.set_cluster(c_->name());
    bare.set_kind(wire::DATAGRAM_LOAD_REPORT);
    bare.set_sent_unix_ms(static_cast<uint64_t>(wire::NowUnixMs()));
    bare.set_body(a.SerializeAsString());
    tx.send_to(asio::buffer(bare.SerializeAsString()), to);
  }
  auto counted = c_->WaitFor([&](const wire::Beacon& b) { return b.datagrams_refused() >= refused_before + kForged; }, 5s);
  ASSERT_TRUE(counted) << "the manager's beacons never counted the forged load reports; last: "
                       << (c_->Latest() ? c_->Latest()->datagrams_refused() : 0);
  // The worker is idle: its load stays near 0 in every beacon since, and real reports
  // keep coming (the manager's count of load reports grows).
  auto later = c_->WaitFor([&](const wire::Beacon& b) { return b.seq() > counted->seq() + 2; }, 5s);
  ASSERT_TRUE(later);
  for (auto& [t, b] : c_->History())
    for (auto& w : b.workers()) EXPECT_LT(w.load(), 1.0) << "a forged load report moved worker " << w.id();
  EXPECT_GT(later->load_reports(), counted->load_reports());
  std::string log = c_->Log();
  size_t lines = 0;
  for (size_t p = log.find("load report without a valid MAC"); p != std::string::npos; p = log.find("load report without a valid MAC", p + 1)) ++lines;
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LT(lines, static_cast<size_t>(kForged)) << "refusals are not rate-limited";
}

// A registered worker that sends no load report is presumed dead after
// manager.peer_timeout_ms: its connection is closed and it leaves the beacons.
TEST_F(SecurityTest, WorkerThatNeverReportsIsClosedAfterThePeerTimeout) {
  auto key = ClusterKey::Load(c_->KeyFile());
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto auth = AuthFrom(c_->name(), *key);
  auto to = manager_;
  struct Outcome {
    Status registered;
    uint64_t token = 0;
    bool closed = false;
  };
  auto started = std::chrono::steady_clock::now();
  auto out = RunSync<Outcome>([&](asio::io_context& ctx) -> asio::awaitable<Outcome> {
    Outcome o;
    wire::ConnectionOptions opts;
    opts.auth = auth;
    opts.heartbeat_interval = 500ms;  // alive on TCP, but no load report
    auto conn = co_await wire::Connect(to, opts, 2s);
    if (!conn.ok()) {
      o.registered = conn.status();
      co_return o;
    }
    auto c = *conn;
    c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {}, [](const wire::Connection::Ptr&, const Status&) {});
    auto r = co_await c->Call(Registration("test@127.0.0.1:3", 3, 0), 2s);
    o.registered = r.ok() ? Status::Ok() : r.status();
    if (r.ok()) o.token = r->register_ack().report_token();
    asio::steady_timer t(ctx);
    for (int i = 0; i < 100 && c->is_open(); ++i) {  // up to 10 s
      t.expires_after(100ms);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    o.closed = !c->is_open();
    c->Close(Status::Cancelled("done"));
    co_return o;
  });
  ASSERT_TRUE(out.registered.ok()) << out.registered.ToString();
  EXPECT_NE(out.token, 0u) << "the manager gave no token for load datagrams";
  EXPECT_TRUE(out.closed) << "the silent worker's connection stayed open";
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3s) << "closed before manager.peer_timeout_ms (3 s)";
  EXPECT_NE(c_->Log().find("no load report for 3000 ms"), std::string::npos) << c_->Log();
}

// Every socket of the cluster is held by exactly one process: children inherit none of
// their parents' sockets, even across a manager restarted by a front end.
std::map<std::string, std::set<pid_t>> SocketHolders(const std::vector<pid_t>& pids) {
  std::map<std::string, std::set<pid_t>> holders;
  for (pid_t p : pids) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(p) + "/fd", ec)) {
      std::error_code lec;
      auto target = std::filesystem::read_symlink(e.path(), lec).string();
      if (target.rfind("socket:", 0) == 0) holders[target].insert(p);
    }
  }
  return holders;
}

std::vector<pid_t> ClusterPids(const wire::Beacon& b) {
  std::vector<pid_t> pids = {static_cast<pid_t>(b.manager_pid())};
  for (auto& f : b.frontends()) pids.push_back(static_cast<pid_t>(f.pid()));
  for (auto& w : b.workers()) pids.push_back(static_cast<pid_t>(w.pid()));
  return pids;
}

TEST(ProcessHygieneTest, NoSocketIsSharedAndKilledRestarterLeavesNoDeadListener) {
  // A fixed manager port: a restarted manager must be able to bind it again.
  int mport = 0;
  {
    asio::io_context ctx;
    asio::ip::tcp::acceptor a(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    mport = a.local_endpoint().port();
  }
  ClusterHarness c({.settings = {"classes.test.min_workers=2", "manager.spawn_policy=fixed", "frontend.threads=2",
                                 "manager.port=" + std::to_string(mport)}});
  c.Start();
  auto b = c.WaitFor([](const wire::Beacon& x) { return x.workers_size() == 2 && x.frontends_size() == 1; }, 10s);
  ASSERT_TRUE(b);
  for (auto& [sock, pids] : SocketHolders(ClusterPids(*b))) EXPECT_EQ(pids.size(), 1u) << sock << " is held by several processes";

  // kill -9 the manager: the front end restarts it (as its child), on the same port.
  uint64_t epoch = b->epoch();
  pid_t fe = static_cast<pid_t>(b->frontends(0).pid());
  ASSERT_EQ(kill(static_cast<pid_t>(b->manager_pid()), SIGKILL), 0);
  auto b2 = c.WaitFor([&](const wire::Beacon& x) { return x.epoch() != epoch && !x.adopting() && x.workers_size() == 2 && x.frontends_size() == 1; }, 15s);
  ASSERT_TRUE(b2) << c.Log();
  EXPECT_EQ(static_cast<int>(b2->manager().port()), mport);
  for (auto& [sock, pids] : SocketHolders(ClusterPids(*b2))) EXPECT_EQ(pids.size(), 1u) << sock << " is held by several processes";

  // kill -9 the front end that restarted it: the manager restarts the front end; every
  // new connection is served (none hangs on a listener the new manager inherited).
  int port = c.FrontendPort(0);
  ASSERT_EQ(kill(fe, SIGKILL), 0);
  auto b3 = c.WaitFor([&](const wire::Beacon& x) { return x.frontends_size() == 1 && static_cast<pid_t>(x.frontends(0).pid()) != fe; }, 15s);
  ASSERT_TRUE(b3) << c.Log();
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = HttpRequest("127.0.0.1", port, "GET", "/task/test?cost_ms=0", "", 3s);
    if (r.status == 200) ++served;
    else ADD_FAILURE() << "connection " << i << ": " << r.error;
  }
  EXPECT_EQ(served, 40);
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(HungWorkerTest, HungWorkerIsReplacedAndTasksQueuedBehindItAreRetried) {
  ClusterHarness c({.settings = {"classes.test.min_workers=1", "classes.test.max_workers=1", "manager.spawn_policy=fixed",
                                 "worker.hang_timeout_ms=400", "stub.task_timeout_ms=30000", "manager.restart_backoff_min_ms=50"}});
  c.Start();
  auto b = c.WaitFor([](const wire::Beacon& x) { return x.workers_size() == 1; }, 10s);
  ASSERT_TRUE(b);
  pid_t first = static_cast<pid_t>(b->workers(0).pid());
  // One task hangs the only worker; one more waits in its queue behind it.
  HttpReply hung;
  std::thread hang([&] { hung = c.Get("/task/test?cost_ms=60000", 0, 20s); });
  // The first task runs on the worker (its reported load rises) before the second is sent.
  ASSERT_TRUE(c.WaitFor([](const wire::Beacon& x) { return x.workers_size() == 1 && x.workers(0).load() > 0; }, 5s));
  auto queued = c.Get("/task/test?cost_ms=1", 0, 20s);
  hang.join();
  EXPECT_FALSE(ProcessAlive(first)) << "the hung worker was not ended";
  // The queued task was retried on the replacement worker, not answered by the fallback.
  EXPECT_EQ(queued.status, 200) << queued.error;
  EXPECT_EQ(queued.Header("X-Tacc-Fallback"), "") << queued.body << c.Log();
  EXPECT_EQ(queued.Header("X-Tacc-Attempts"), "2");
  // The task that hung the worker is not retried: it would hang the replacement too.
  // Its client gets the worker's error (the test service answers those with 400).
  EXPECT_EQ(hung.status, 400) << hung.error;
  EXPECT_NE(hung.body.find("made worker"), std::string::npos) << hung.body;
  auto log = c.Log();
  size_t hangs = 0;
  for (size_t at = log.find(" hung: "); at != std::string::npos; at = log.find(" hung: ", at + 1)) ++hangs;
  EXPECT_EQ(hangs, 1u) << log;
  auto after = c.WaitFor([&](const wire::Beacon& x) { return x.workers_size() == 1 && static_cast<pid_t>(x.workers(0).pid()) != first; }, 10s);
  EXPECT_TRUE(after);
}

}  // namespace
}  // namespace tacc::testing
