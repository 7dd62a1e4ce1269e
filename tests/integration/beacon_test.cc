// Beacons that nobody without the cluster key can forge or usefully replay, unicast
// subscriptions that cannot be abused, and two managers at once (issue 6).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <set>

#include "cluster_harness.h"
#include "wire/handshake.h"
#include "common/config.h"
#include "sns/beacon_listener.h"
#include "wire/beacon_split.h"
#include "wire/datagram_seal.h"
#include "wire/datagram_socket.h"
#include "wire/frame.h"

namespace tacc::testing {
namespace {

namespace asio = boost::asio;
using wire::udp;
using tcp = asio::ip::tcp;

ClusterKey OtherKey() {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(0x5a);
  return ClusterKey::FromBytes(b);
}

// Next datagram on `s` within `timeout`; empty if none.
std::string Receive(udp::socket& s, std::chrono::milliseconds timeout, udp::endpoint* from = nullptr) {
  pollfd p{s.native_handle(), POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return "";
  std::vector<char> buf(65536);
  udp::endpoint f;
  boost::system::error_code ec;
  size_t n = s.receive_from(asio::buffer(buf), f, 0, ec);
  if (ec) return "";
  if (from) *from = f;
  return std::string(buf.data(), n);
}

// A beacon header datagram of `epoch` from the multicast group (a capture).
std::string CaptureHeader(udp::socket& s, const std::string& cluster, uint64_t epoch) {
  auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    std::string d = Receive(s, 500ms);
    wire::SealedDatagram sd;
    wire::Beacon h;
    if (!d.empty() && sd.ParseFromString(d) && sd.cluster() == cluster && sd.kind() == wire::DATAGRAM_BEACON_HEADER &&
        h.ParseFromString(sd.body()) && h.epoch() == epoch)
      return d;
  }
  return "";
}

std::string HeaderBody(const std::string& cluster, uint64_t epoch, uint32_t manager_port) {
  wire::Beacon h;
  h.set_cluster(cluster);
  h.set_epoch(epoch);
  h.set_seq(1'000'000);
  h.mutable_manager()->set_host("127.0.0.1");
  h.mutable_manager()->set_port(manager_port);
  h.set_interval_ms(200);
  return h.SerializeAsString();
}

std::map<std::string, uint32_t> WorkerPids(const wire::Beacon& b) {
  std::map<std::string, uint32_t> out;
  for (auto& w : b.workers()) out[w.id()] = w.pid();
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

Config TestConfig(const ClusterHarness& c) {
  std::vector<std::string> sets;
  for (size_t i = 1; i < c.config_args().size(); i += 2) sets.push_back(c.config_args()[i]);
  auto config = Config::Load("", sets);
  EXPECT_TRUE(config.ok());
  return *config;
}

// Forged beacons (no MAC, another key) claiming an older and a newer epoch, and a
// captured beacon replayed — at once, and again after the manager was replaced so that
// it names an older manager that is gone — change nothing, and are counted and logged.
TEST(BeaconSecurityTest, ForgedAndReplayedBeaconsChangeNothing) {
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2", "beacon.freshness_ms=60000"}});
  c.Start();
  auto ready = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s);
  ASSERT_TRUE(ready) << c.Log();
  const uint64_t epoch = ready->epoch();
  const auto workers = WorkerPids(*ready);
  Config config = TestConfig(c);

  asio::io_context io;
  auto capture = wire::OpenMulticastReceiver(io.get_executor(), config.beacon.group, config.beacon.port, config.beacon.interface);
  auto sender = wire::OpenMulticastSender(io.get_executor(), config.beacon.interface, 0);
  ASSERT_TRUE(capture.ok() && sender.ok());
  udp::endpoint group(asio::ip::make_address(config.beacon.group), static_cast<uint16_t>(config.beacon.port));
  std::string captured = CaptureHeader(*capture, c.name(), epoch);
  ASSERT_FALSE(captured.empty()) << "no beacon header captured";

  // Forgeries: a newer epoch (would move every worker to an attacker) and an older one
  // (would make the manager step down), without the key and with a wrong key.
  constexpr int kForged = 20;
  for (int i = 0; i < kForged / 2; ++i) {
    wire::SealedDatagram bare;
    bare.set_cluster(c.name());
    bare.set_kind(wire::DATAGRAM_BEACON_HEADER);
    bare.set_sent_unix_ms(static_cast<uint64_t>(wire::NowUnixMs()));
    bare.set_body(HeaderBody(c.name(), epoch - 1, 1));
    sender->send_to(asio::buffer(bare.SerializeAsString()), group);
    auto wrong_key =
        wire::Seal(OtherKey(), c.name(), wire::DATAGRAM_BEACON_HEADER, HeaderBody(c.name(), epoch + 1'000'000'000, 1), wire::NowUnixMs());
    sender->send_to(asio::buffer(wrong_key), group);
  }
  // The captured beacon, replayed: every listener has taken its seq already.
  for (int i = 0; i < 3; ++i) sender->send_to(asio::buffer(captured), group);

  // The manager counts them (its own watch listener hears the group) and says so in beacons.
  auto counted = c.WaitFor([&](const wire::Beacon& b) { return b.epoch() == epoch && b.datagrams_refused() >= kForged + 3; }, 5s);
  EXPECT_TRUE(counted) << "manager's beacons never reported the refused datagrams; last: "
                       << (c.Latest() ? c.Latest()->datagrams_refused() : 0);
  // Logged, but at a limited rate: each process says it once, not once per datagram.
  std::string log = c.Log();
  size_t forged_lines = Count(log, "without a valid MAC");
  EXPECT_GE(forged_lines, 1u) << log;
  EXPECT_LT(forged_lines, static_cast<size_t>(kForged)) << "refusals are not rate-limited";
  EXPECT_GE(Count(log, "replayed beacon datagram"), 1u);
  // Nothing moved: same manager, same epoch, same workers, nobody re-registered.
  auto after = c.WaitFor([&](const wire::Beacon& b) { return b.seq() > counted->seq() + 2; }, 5s);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->epoch(), epoch);
  EXPECT_EQ(after->manager_pid(), ready->manager_pid());
  EXPECT_EQ(WorkerPids(*after), workers);
  EXPECT_EQ(Count(c.Log(), "registered with manager epoch"), 1u + workers.size()) << "someone re-registered:\n" << c.Log();

  // Now the manager dies and is replaced (a newer epoch). The captured beacon of the old
  // one, replayed, names an older manager: the new one must not step down for it, since
  // that manager does not answer over TCP.
  ASSERT_EQ(kill(static_cast<pid_t>(ready->manager_pid()), SIGKILL), 0);
  auto replaced = c.WaitFor([&](const wire::Beacon& b) { return b.epoch() != epoch && WorkerPids(b) == workers; }, 15s);
  ASSERT_TRUE(replaced) << c.Log();
  const uint64_t new_epoch = replaced->epoch();
  ASSERT_GT(new_epoch, epoch);
  for (int i = 0; i < 3; ++i) sender->send_to(asio::buffer(captured), group);
  auto deadline = Clock::now() + 5s;
  while (Count(c.Log(), "does not answer as that epoch") == 0 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_GE(Count(c.Log(), "does not answer as that epoch"), 1u) << "the replay never reached the new manager's check:\n" << c.Log();
  auto still = c.WaitFor([&](const wire::Beacon& b) { return b.epoch() == new_epoch && b.seq() > replaced->seq() + 5; }, 5s);
  ASSERT_TRUE(still) << "the new manager stopped beaconing:\n" << c.Log();
  EXPECT_TRUE(ProcessAlive(static_cast<pid_t>(still->manager_pid())));
  EXPECT_EQ(WorkerPids(*still), workers);
  EXPECT_EQ(Count(c.Log(), "steps down"), 0u);
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

// Unicast mode: the manager answers only authenticated subscriptions, and only to the
// address they came from.
TEST(BeaconSecurityTest, UnicastSubscriptionsAreAuthenticatedAndNeverReflected) {
  ClusterHarness c({.settings = {"beacon.mode=unicast", "manager.spawn_policy=fixed", "classes.test.min_workers=1"}});
  c.Start();
  ASSERT_TRUE(c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 1; }, 10s)) << c.Log();
  asio::io_context io;
  udp::endpoint seed(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(c.beacon_port()));
  udp::socket probe(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket victim(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto subscribe = [&](const ClusterKey& key, const udp::endpoint& reply_to) {
    wire::Subscribe s;
    s.set_cluster(c.name());
    s.mutable_reply_to()->set_host(reply_to.address().to_string());
    s.mutable_reply_to()->set_port(reply_to.port());
    return wire::Seal(key, c.name(), wire::DATAGRAM_SUBSCRIBE, s.SerializeAsString(), wire::NowUnixMs());
  };
  wire::SealedDatagram bare;
  bare.set_cluster(c.name());
  bare.set_kind(wire::DATAGRAM_SUBSCRIBE);
  bare.set_sent_unix_ms(static_cast<uint64_t>(wire::NowUnixMs()));
  probe.send_to(asio::buffer(bare.SerializeAsString()), seed);                       // no MAC
  probe.send_to(asio::buffer(subscribe(OtherKey(), probe.local_endpoint())), seed);  // another key
  probe.send_to(asio::buffer(subscribe(c.key(), victim.local_endpoint())), seed);    // authentic, aimed at a third party
  // Five beacon periods: nothing may arrive at either socket.
  EXPECT_EQ(Receive(probe, 1000ms), "") << "the manager answered an unauthenticated subscription";
  EXPECT_EQ(Receive(victim, 10ms), "") << "the manager reflected beacons to an address that did not subscribe";
  auto deadline = Clock::now() + 5s;
  while (Count(c.Log(), "refused a subscription") == 0 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_GE(Count(c.Log(), "refused a subscription"), 1u) << c.Log();

  // With the key, from its own address: beacons come, and assemble into the directory.
  probe.send_to(asio::buffer(subscribe(c.key(), probe.local_endpoint())), seed);
  sns::BeaconReceiver receiver(c.key(), {c.name(), 5000, false});
  std::optional<wire::Beacon> got;
  deadline = Clock::now() + 5s;
  while (!got && Clock::now() < deadline) {
    std::string d = Receive(probe, 500ms);
    wire::Beacon b;
    if (!d.empty() && receiver.OnDatagram(d, wire::NowUnixMs(), &b) == sns::BeaconReceiver::Verdict::kBeacon) got = b;
  }
  ASSERT_TRUE(got) << "an authenticated subscriber got no beacon";
  EXPECT_EQ(ClusterHarness::CountWorkers(*got, "test"), 1);
  EXPECT_EQ(Receive(victim, 10ms), "");
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

std::set<uint64_t> EpochsHeard(const ClusterHarness& c) {
  std::set<uint64_t> out;
  for (auto& [t, b] : c.History()) out.insert(b.epoch());
  return out;
}

// A second manager of the same cluster started by hand while one runs: it hears the
// first, confirms over TCP that it is alive, and steps down. Workers and front ends
// never leave the first; nothing counts as a crash; nothing is spawned.
void RunSecondManager(ClusterHarness& c, const std::vector<std::string>& second_settings, bool multicast) {
  c.Start();
  auto ready = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "test") == 2; }, 10s);
  ASSERT_TRUE(ready) << c.Log();
  const uint64_t epoch = ready->epoch();
  const auto workers = WorkerPids(*ready);
  size_t spawned_before = Count(c.Log(), "spawned worker");

  std::vector<std::string> extra = {"cluster.run_dir=" + c.run_dir() + "/second", "cluster.key_file=" + c.run_dir() + "/cluster.key",
                                    "manager.adopt_grace_ms=1500"};
  extra.insert(extra.end(), second_settings.begin(), second_settings.end());
  pid_t second = c.SpawnTacc({"manager"}, extra);
  // Multicast: both managers beacon to everyone for a moment (the second is heard before
  // it hears the first). Unicast: the second sends only to those who subscribed at it by
  // then, and may step down before anyone did.
  if (multicast) {
    bool heard = c.WaitFor([&](const wire::Beacon& b) { return b.epoch() != epoch; }, 10s).has_value();
    EXPECT_TRUE(heard) << "the second manager's beacons never arrived:\n" << c.Log();
  }
  int status = 0;
  bool exited = false;
  for (auto until = Clock::now() + 10s; Clock::now() < until;) {
    if (waitpid(second, &status, WNOHANG) == second) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(exited) << "the second manager did not step down:\n" << c.Log();
  EXPECT_EQ(Count(c.Log(), "manager up: epoch"), 2u) << c.Log();
  EXPECT_EQ(Count(c.Log(), "steps down"), 1u) << c.Log();
  // A few more periods of the first manager: the same workers, no crash, no spawn.
  auto latest = c.Latest();
  auto after = c.WaitFor([&](const wire::Beacon& b) { return b.epoch() == epoch && b.seq() > latest->seq() + 5; }, 5s);
  ASSERT_TRUE(after) << c.Log();
  EXPECT_EQ(after->manager_pid(), ready->manager_pid());
  EXPECT_EQ(WorkerPids(*after), workers);
  EXPECT_EQ(after->frontends_size(), 2);
  for (auto& cs : after->classes())
    if (cs.name() == "test") {
      EXPECT_EQ(cs.crashes(), 0u);
      EXPECT_EQ(cs.pending_spawns(), 0u);
    }
  EXPECT_EQ(Count(c.Log(), "spawned worker"), spawned_before) << "spawn burst:\n" << c.Log();
  EXPECT_EQ(Count(c.Log(), "registered with manager epoch"), 2u + workers.size()) << "a worker or front end followed the second manager:\n"
                                                                                  << c.Log();
  if (multicast) {
    EXPECT_EQ(EpochsHeard(c).size(), 2u);
  }
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

TEST(TwoManagersTest, SecondManagerStepsDownAndNobodyFollowsIt) {
  ClusterHarness c({.frontends = 2, .settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=2"}});
  RunSecondManager(c, {}, true);
}

TEST(TwoManagersTest, SecondManagerStepsDownInUnicastModeToo) {
  // Two seeds: the first manager's subscription port and the second's; every component
  // subscribes at both, and each manager watches the other seed.
  int base = 0;
  {
    ClusterHarness peek({});
    base = peek.beacon_port();
  }
  std::string seeds =
      "beacon.unicast_seeds=[\"127.0.0.1:" + std::to_string(base + 2) + "\",\"127.0.0.1:" + std::to_string(base + 3) + "\"]";
  ClusterHarness c({.frontends = 2,
                    .settings = {"beacon.mode=unicast", "beacon.port=" + std::to_string(base + 2), seeds, "beacon.subscription_ttl_ms=600",
                                 "manager.spawn_policy=fixed", "classes.test.min_workers=2"}});
  RunSecondManager(c, {"beacon.port=" + std::to_string(base + 3)}, false);
}

// A directory of thousands of workers (more than one datagram could ever hold, ~900)
// registered over TCP with a real manager: its beacons, split across datagrams, reach
// a listener whole.
TEST(LargeDirectoryTest, ThousandsOfWorkersReachListenersInSplitBeacons) {
#ifdef TACC_SANITIZED
  // Sanitized, the harness's listener cannot keep up with 2,500 workers' beacons beside
  // another test (parts overflow its socket, no beacon arrives whole): still more than
  // one datagram holds.
  constexpr int kWorkers = 1200;
#else
  constexpr int kWorkers = 2500;
#endif
  rlimit rl{};  // every fake worker is a connection here and in the manager
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 2 * kWorkers + 200) GTEST_SKIP() << "file limit " << rl.rlim_max << " too low";
  rl.rlim_cur = rl.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);  // `tacc up` and the manager inherit it
  // The fake workers say nothing after registering: the peer timeout must outlast the
  // whole test (a minute under the sanitizers), or the first ones are dropped as silent.
  ClusterHarness c({.settings = {"manager.spawn_policy=fixed", "classes.test.min_workers=0", "manager.peer_timeout_ms=600000"}});
  c.Start();
  auto b = c.Latest();
  ASSERT_TRUE(b);
  tcp::endpoint manager(asio::ip::make_address(b->manager().host()), static_cast<uint16_t>(b->manager().port()));
  asio::io_context io;
  wire::ClusterAuth auth{c.name(), c.key()};
  std::vector<tcp::socket> socks;
  socks.reserve(kWorkers);
  // Connect and register all at once (pipelined), then collect the acknowledgements.
  for (int i = 0; i < kWorkers; ++i) {
    socks.emplace_back(io);
    boost::system::error_code ec;
    socks.back().connect(manager, ec);
    ASSERT_FALSE(ec) << "connect " << i << ": " << ec.message();
    // Prove the cluster key, as every cluster connection must.
    auto proven = asio::co_spawn(io, wire::ClientHandshake(socks.back(), auth, 5s), asio::use_future);
    io.restart();
    io.run();
    Status hs = proven.get();
    ASSERT_TRUE(hs.ok()) << "handshake " << i << ": " << hs.ToString();
    wire::Envelope reg;
    reg.set_id(1);
    auto* r = reg.mutable_register_worker();
    uint32_t port = static_cast<uint32_t>(30000 + i);
    r->set_id("test@127.0.0.1:" + std::to_string(port));
    r->set_worker_class("test");
    r->mutable_address()->set_host("127.0.0.1");
    r->mutable_address()->set_port(port);
    r->set_host("127.0.0.1");
    std::string frame;
    wire::AppendFrame(reg, frame);
    asio::write(socks.back(), asio::buffer(frame), ec);
    ASSERT_FALSE(ec);
  }
  for (auto& sock : socks) {
    uint8_t header[wire::kFrameHeaderBytes];
    boost::system::error_code ec;
    asio::read(sock, asio::buffer(header), ec);
    ASSERT_FALSE(ec);
    auto len = wire::DecodeFrameHeader(header, 1 << 20);
    ASSERT_TRUE(len.ok());
    std::string body(*len, '\0');
    asio::read(sock, asio::buffer(body), ec);
    ASSERT_FALSE(ec);
    auto reply = wire::ParseEnvelope(body);
    ASSERT_TRUE(reply.ok() && reply->has_register_ack());
  }
  // Under ASan with another test beside it, a manager of 2,500 workers takes well over 10 s
  // to beacon them all (seen: 943 after 10 s); the wait ends as soon as one whole beacon came.
  auto whole = c.WaitFor([&](const wire::Beacon& x) { return x.workers_size() == kWorkers; }, 40s);
  ASSERT_TRUE(whole) << "no whole beacon with every worker; last had " << (c.Latest() ? c.Latest()->workers_size() : -1);
  EXPECT_GE(whole->parts(), static_cast<uint32_t>(kWorkers / 300)) << "one datagram could not have held them";
  std::set<std::string> ids;
  for (auto& w : whole->workers()) ids.insert(w.id());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kWorkers));
  EXPECT_TRUE(ids.contains("test@127.0.0.1:" + std::to_string(30000 + kWorkers - 1)));
  // The front end sees them too (its directory is what it dispatches from).
  // It may be a beacon or two behind the harness (slow under the sanitizers): wait for it.
  HttpReply status;
  size_t seen = 0;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(200ms)) {
    status = c.GetAdmin("/_tacc/status");
    seen = Count(status.body, "\"class\":\"test\",\"pid\"");
    if (status.status == 200 && seen == static_cast<size_t>(kWorkers)) break;
  }
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(seen, static_cast<size_t>(kWorkers)) << status.body.substr(0, 300);
  // Leave on purpose, so nothing is counted as a crash.
  wire::Envelope bye;
  bye.mutable_deregister();
  std::string frame;
  wire::AppendFrame(bye, frame);
  for (auto& sock : socks) {
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(frame), ec);
  }
  EXPECT_TRUE(c.WaitFor([](const wire::Beacon& x) { return x.workers_size() == 0; }, 10s)) << "the fake workers did not leave";
  socks.clear();
  std::string left;
  EXPECT_TRUE(c.Stop(&left)) << "left behind:" << left;
}

}  // namespace
}  // namespace tacc::testing
