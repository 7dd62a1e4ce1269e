// `tacc dispatch` in the kernel modes across hosts, with tacc front ends from the
// beacons: dsr (L4/2: replies go straight from the front end to the client) and nat
// (L4/3: the dispatcher is the front ends' gateway); and a hot-standby pair of each
// taking over under load, counting the established connections that survive.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "lab_cluster.h"

namespace tacc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kVip = "10.0.0.100";

// One keep-alive connection from the client host: requests /whoami, reads the answer
// (every step bounded: a connection that did not survive a takeover may go silent).
class KeptConnection {
 public:
  KeptConnection(NetnsLab& lab, const NetnsLab::Host& from) {
    lab.RunIn(from, [&] { conn_ = std::make_unique<TimedConnection>(kVip, 80, 3s); });
  }
  // The answering host, or "" if the request failed.
  std::string WhoAmI() {
    if (!conn_->ok() || !conn_->Send("GET /whoami HTTP/1.1\r\nHost: lab\r\n\r\n", 3s)) return "";
    auto body = conn_->ReadAnswerBody(3s);
    return body ? WhoAmIHost(*body) : "";
  }

 private:
  std::unique_ptr<TimedConnection> conn_;
};

class KernelModeTest : public LabClusterTest {
 protected:
  KernelModeTest() : LabClusterTest(2, 3) {}
  // Hosts set up for `mode`; the front ends started (port 80 for dsr: direct routing
  // keeps the port; 8080 for nat).
  void StartFrontEnds(const std::string& mode) {
    for (auto* d : {d1_, d2_}) {
      lab_->MustExec(*d, {"sysctl", "-qw", "net.ipv4.ip_forward=1"});
      lab_->MustExec(*d, {"sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0"});
      lab_->MustExec(*d, {"sysctl", "-qw", "net.ipv4.conf.eth0.send_redirects=0"});
    }
    for (auto* fe : fes_) {
      if (mode == "dsr") {
        lab_->MustExec(*fe, {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "lo"});
        lab_->MustExec(*fe, {"sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1"});
        lab_->MustExec(*fe, {"sysctl", "-qw", "net.ipv4.conf.all.arp_announce=2"});
      } else {
        // The cluster address is the front ends' gateway to the clients (LSNAT).
        lab_->MustExec(*fe, {"ip", "route", "add", client_->ip + "/32", "via", kVip, "dev", "eth0"});
      }
    }
    cluster_->StartManager(*mgr_);
    // Admin listeners on the hosts' addresses: failover_state "rebuild" asks them.
    fe_pids_.clear();
    for (size_t i = 0; i < fes_.size(); ++i)
      fe_pids_.push_back(cluster_->StartFrontend(*fes_[i], static_cast<int>(i), mode == "dsr" ? 80 : 8080, {"frontend.admin_host=" + fes_[i]->ip}));
  }
  std::vector<pid_t> fe_pids_;
  std::vector<std::string> Settings(const std::string& mode, const std::string& extra_policy = "round_robin") {
    return {"frontdoor.mode=" + mode, std::string("frontdoor.address=") + kVip, "frontdoor.port=80", "frontdoor.interface=eth0",
            "frontdoor.policy=" + extra_policy};
  }
  std::vector<std::string> Pair(const std::string& mode, const NetnsLab::Host& peer, int priority, const std::string& state) {
    auto s = Settings(mode);
    s.insert(s.end(), {"frontdoor.standby_peer=" + peer.ip + ":7480", "frontdoor.priority=" + std::to_string(priority), "frontdoor.heartbeat_ms=100",
                       "frontdoor.takeover_misses=3", "frontdoor.failover_state=" + state});
    return s;
  }
  // Until fresh connections to the cluster address have reached every front end.
  bool WaitForAll(std::chrono::milliseconds timeout, std::string* seen_list) {
    std::set<std::string> want, seen;
    for (auto* fe : fes_) want.insert(fe->ip);
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto r = cluster_->Get(*client_, kVip, 80, "/whoami", 1s);
      if (r.status == 200) seen.insert(WhoAmIHost(r.body));
      if (seen == want) return true;
      if (r.status != 200) std::this_thread::sleep_for(50ms);
    }
    for (auto& s : seen) *seen_list += s + " ";
    return false;
  }
};

TEST_F(KernelModeTest, DsrReachesEveryFrontEndAndRepliesBypassTheDispatcher) {
  StartFrontEnds("dsr");
  cluster_->StartDispatcher(*d1_, Settings("dsr"));
  std::string seen;
  ASSERT_TRUE(WaitForAll(20s, &seen)) << "seen: " << seen << "\n" << cluster_->Log();
  // Direct routing: the front end sees the client itself.
  auto r = cluster_->Get(*client_, kVip, 80, "/whoami");
  EXPECT_EQ(WhoAmIClient(r.body).rfind(client_->ip + ":", 0), 0u) << r.body;
  // 20 answers of 200 KB: the client receives them all, the dispatcher sends almost none.
  auto disp_before = lab_->InterfaceCounters(*d1_);
  auto client_before = lab_->InterfaceCounters(*client_);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(cluster_->Get(*client_, kVip, 80, "/whoami?bytes=200000").status, 200);
  auto disp_after = lab_->InterfaceCounters(*d1_);
  auto client_after = lab_->InterfaceCounters(*client_);
  EXPECT_GE(client_after.rx_bytes - client_before.rx_bytes, 4'000'000u);
  EXPECT_LT(disp_after.tx_bytes - disp_before.tx_bytes, 400'000u) << "replies went through the dispatcher";
}

TEST_F(KernelModeTest, NatReachesEveryFrontEndAsTheirGateway) {
  StartFrontEnds("nat");
  cluster_->StartDispatcher(*d1_, Settings("nat"));
  std::string seen;
  ASSERT_TRUE(WaitForAll(20s, &seen)) << "seen: " << seen << "\n" << cluster_->Log();
  auto r = cluster_->Get(*client_, kVip, 80, "/whoami");
  EXPECT_EQ(WhoAmIClient(r.body).rfind(client_->ip + ":", 0), 0u) << "LSNAT keeps the client's address: " << r.body;
  // The answers come back through the dispatcher (its eth0 carries them twice: in from
  // the front end, out to the client).
  auto disp_before = lab_->InterfaceCounters(*d1_);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(cluster_->Get(*client_, kVip, 80, "/whoami?bytes=200000").status, 200);
  auto disp_after = lab_->InterfaceCounters(*d1_);
  EXPECT_GE(disp_after.tx_bytes - disp_before.tx_bytes, 2'000'000u);
}

// Back ends whose MAC nobody answers for are resolved off the event loop. A dispatcher
// that resolved them on it stood still for 300 ms per such back end at every change of
// the rotation, long enough for its standby (which had the MACs, or no such back ends)
// to miss 3 heartbeats and take over.
TEST_F(KernelModeTest, UnansweredArpDoesNotStallTheDispatcherIntoATakeover) {
  StartFrontEnds("dsr");
  const std::string took_over = "taking over as the active dispatcher";
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  const std::string active_log = "dispatch@" + d1_->name, standby_log = "dispatch@" + d2_->name;
  // The active one alone first (it takes over, hearing no peer), with three addresses on
  // the link that no host has, kept in rotation (no health checks).
  auto first = Pair("dsr", *d2_, 200, "stateless");
  first.insert(first.end(), {"frontdoor.backends=[\"10.0.0.201:80\",\"10.0.0.202:80\",\"10.0.0.203:80\"]", "frontdoor.health_interval_ms=600000"});
  cluster_->StartDispatcher(*d1_, first);
  auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && count(cluster_->LogOf(active_log), took_over) == 0) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(count(cluster_->LogOf(active_log), took_over), 1) << cluster_->LogOf(active_log);
  // Its standby (lower priority: it never preempts).
  cluster_->StartDispatcher(*d2_, Pair("dsr", *d1_, 100, "stateless"));
  std::string seen;
  ASSERT_TRUE(WaitForAll(20s, &seen)) << "seen: " << seen << "\n" << cluster_->Log();
  // The active one's first round of resolution is over: every phantom was left out.
  auto left_out = [&] { return count(cluster_->LogOf(active_log), "no ARP answer from"); };
  deadline = Clock::now() + 10s;
  while (Clock::now() < deadline && left_out() < 3) std::this_thread::sleep_for(50ms);
  ASSERT_GE(left_out(), 3) << cluster_->LogOf(active_log);
  const int takeovers_before = count(cluster_->LogOf(standby_log), took_over);
  const int left_out_before = left_out();

  // A change of the rotation (a front end goes) has the phantoms resolved again.
  cluster_->Kill(fe_pids_[2]);
  deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && left_out() < left_out_before + 3) std::this_thread::sleep_for(50ms);
  ASSERT_GE(left_out(), left_out_before + 3) << "the phantoms were not resolved again\n" << cluster_->LogOf(active_log);
  EXPECT_EQ(count(cluster_->LogOf(standby_log), took_over), takeovers_before)
      << "the standby took over while the active dispatcher resolved MACs\n" << cluster_->LogOf(standby_log);
  // And the front ends left are served (a new connection may first hash to the killed
  // one until its departure reaches the slot table: retried for a while).
  int status = 0;
  deadline = Clock::now() + 15s;
  while (Clock::now() < deadline && (status = cluster_->Get(*client_, kVip, 80, "/whoami", 2s).status) != 200) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(status, 200) << cluster_->LogOf(active_log);
}

struct TakeoverCase {
  std::string mode, state;
};

class TakeoverTest : public KernelModeTest, public ::testing::WithParamInterface<TakeoverCase> {};

TEST_P(TakeoverTest, EstablishedConnectionsSurviveAKillOfTheActiveDispatcherUnderLoad) {
  const auto& [mode, state] = GetParam();
  StartFrontEnds(mode);
  pid_t active = cluster_->StartDispatcher(*d1_, Pair(mode, *d2_, 200, state));
  pid_t other = cluster_->StartDispatcher(*d2_, Pair(mode, *d1_, 100, state));
  std::string seen;
  ASSERT_TRUE(WaitForAll(20s, &seen)) << "seen: " << seen << "\n" << cluster_->Log();
  // The higher priority is active unless the other came up first and heard no peer (a
  // slow start, e.g. under ASan): a standby never preempts. Kill whichever is active.
  std::string standby_log = "dispatch@" + d2_->name;
  const std::string took_over = "taking over as the active dispatcher";
  if (cluster_->LogOf(standby_log).find(took_over) != std::string::npos &&
      cluster_->LogOf("dispatch@" + d1_->name).find(took_over) == std::string::npos) {
    std::swap(active, other);
    standby_log = "dispatch@" + d1_->name;
  }

  constexpr int kConnections = 24;
  std::vector<std::unique_ptr<KeptConnection>> kept;
  std::vector<std::string> first;
  for (int i = 0; i < kConnections; ++i) {
    kept.push_back(std::make_unique<KeptConnection>(*lab_, *client_));
    first.push_back(kept.back()->WhoAmI());
    ASSERT_FALSE(first.back().empty()) << "connection " << i << " failed before the takeover";
  }
  // Under load: new connections all along, from before the kill to after the takeover.
  std::atomic<bool> stop{false};
  std::atomic<int> load_ok{0}, load_failed{0};
  std::thread load([&] {
    while (!stop) {
      auto r = cluster_->Get(*client_, kVip, 80, "/whoami", 1s);
      (r.status == 200 ? load_ok : load_failed)++;
    }
  });
  std::this_thread::sleep_for(300ms);  // replicated: the standby has had three heartbeats' flows
  cluster_->Kill(active);
  auto killed = Clock::now();
  while (Clock::now() < killed + 10s && cluster_->LogOf(standby_log).find(took_over) == std::string::npos)
    std::this_thread::sleep_for(10ms);
  auto takeover_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
  std::this_thread::sleep_for(500ms);
  stop = true;
  load.join();

  int survived = 0, same_front_end = 0;
  for (int i = 0; i < kConnections; ++i) {
    auto host = kept[static_cast<size_t>(i)]->WhoAmI();
    if (!host.empty()) ++survived;
    if (host == first[static_cast<size_t>(i)]) ++same_front_end;
  }
  std::cout << "takeover " << mode << "/" << state << ": " << survived << " of " << kConnections << " established connections survived ("
            << same_front_end << " on their front end); standby active " << takeover_ms << " ms after kill -9; load: " << load_ok << " ok, "
            << load_failed << " failed\n";
  RecordProperty("survived", survived);
  RecordProperty("takeover_ms", static_cast<int>(takeover_ms));
  EXPECT_NE(cluster_->LogOf(standby_log).find("taking over as the active dispatcher: the peer missed 3 heartbeats"), std::string::npos)
      << cluster_->Log();
  if (state == "rebuild") {
    auto log = cluster_->LogOf(standby_log);
    auto at = log.find("rebuild: 3 of 3 front end(s) answered");
    EXPECT_NE(at, std::string::npos) << cluster_->Log();
    if (at != std::string::npos) std::cout << log.substr(at, log.find('\n', at) - at) << "\n";
  }
  EXPECT_EQ(survived, kConnections) << mode << "/" << state;
  EXPECT_EQ(same_front_end, survived);
  // After the takeover, new connections are served again.
  EXPECT_EQ(cluster_->Get(*client_, kVip, 80, "/whoami", 2s).status, 200);
}

INSTANTIATE_TEST_SUITE_P(Ways, TakeoverTest,
                         ::testing::Values(TakeoverCase{"dsr", "stateless"}, TakeoverCase{"dsr", "replicated"}, TakeoverCase{"dsr", "rebuild"},
                                           TakeoverCase{"nat", "stateless"}, TakeoverCase{"nat", "replicated"}, TakeoverCase{"nat", "rebuild"}),
                         [](const auto& info) { return info.param.mode + "_" + info.param.state; });

}  // namespace
}  // namespace tacc::testing
