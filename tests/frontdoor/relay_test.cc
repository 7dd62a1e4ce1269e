// `tacc dispatch` in relay mode across hosts: a client host, a dispatcher host, a
// manager host and three front-end hosts, every one a real process in its own network
// namespace. The dispatcher learns the front ends from the manager's beacons (or a
// static list), spreads connections over them, and follows them as they die and return.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "lab_cluster.h"

namespace tacc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::map<std::string, int> Count(const std::vector<std::string>& hosts) {
  std::map<std::string, int> n;
  for (auto& h : hosts) ++n[h];
  return n;
}

// Polls until `n` requests through the dispatcher are answered by exactly the hosts in
// `want` (every one of them at least once), or `timeout`.
bool WaitForRotation(LabCluster& cluster, const NetnsLab::Host& client, const std::string& ip, int port, std::set<std::string> want,
                     std::chrono::milliseconds timeout, std::string* last) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto hosts = cluster.WhoAmI(client, ip, port, static_cast<int>(want.size()) * 3);
    std::set<std::string> got(hosts.begin(), hosts.end());
    *last = "";
    for (auto& h : hosts) *last += h + " ";
    if (got == want) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

class RelayTest : public LabClusterTest {
 protected:
  RelayTest() : LabClusterTest(1, 3) {}
  std::set<std::string> AllFrontends() const {
    std::set<std::string> s;
    for (auto* h : fes_) s.insert(h->ip);
    return s;
  }
};

TEST_F(RelayTest, FrontEndsFromTheBeaconsEachGetTheirShareAndFollowKillAndRestart) {
  cluster_->StartManager(*mgr_);
  std::vector<pid_t> fe_pids;
  for (size_t i = 0; i < fes_.size(); ++i) fe_pids.push_back(cluster_->StartFrontend(*fes_[i], static_cast<int>(i)));
  cluster_->StartDispatcher(*disp_, {"frontdoor.mode=relay", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.policy=round_robin"});
  std::string last;
  ASSERT_TRUE(WaitForRotation(*cluster_, *client_, disp_->ip, 80, AllFrontends(), 20s, &last)) << "answers: " << last;

  // Round robin over three front ends in rotation: 30 connections, 10 each.
  auto counts = Count(cluster_->WhoAmI(*client_, disp_->ip, 80, 30));
  for (auto* fe : fes_) EXPECT_EQ(counts[fe->ip], 10) << fe->name;
  EXPECT_EQ(counts.size(), 3u);
  // A relay is a proxy: the front end sees the dispatcher as its client.
  auto r = cluster_->Get(*client_, disp_->ip, 80, "/whoami");
  EXPECT_EQ(WhoAmIClient(r.body).substr(0, disp_->ip.size() + 1), disp_->ip + ":");

  // fe2 killed: no client sees an error (a refused connect goes to another front end),
  // and it leaves rotation.
  cluster_->Kill(fe_pids[1]);
  auto after_kill = cluster_->WhoAmI(*client_, disp_->ip, 80, 12);
  for (auto& h : after_kill) {
    EXPECT_NE(h.rfind("error", 0), 0u) << "a request failed after a front end died: " << h;
    EXPECT_NE(h, fes_[1]->ip);
  }
  // Restarted, it rejoins by itself (beacons and health checks; no configuration change).
  cluster_->StartFrontend(*fes_[1], 1);
  EXPECT_TRUE(WaitForRotation(*cluster_, *client_, disp_->ip, 80, AllFrontends(), 15s, &last)) << "answers: " << last;
}

TEST_F(RelayTest, StaticBackEndsAreCheckedTakenOutAndReadmitted) {
  // Servers named in frontdoor.backends, no beacons: health checks alone decide.
  cluster_->StartManager(*mgr_);
  std::vector<pid_t> fe_pids;
  for (size_t i = 0; i < fes_.size(); ++i) fe_pids.push_back(cluster_->StartFrontend(*fes_[i], static_cast<int>(i), 8080));
  std::string list = "frontdoor.backends=[";
  for (size_t i = 0; i < fes_.size(); ++i) list += (i ? ",\"" : "\"") + fes_[i]->ip + ":8080\"";
  list += "]";
  cluster_->StartDispatcher(*disp_, {"frontdoor.mode=relay", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.from_beacons=false",
                                     list, "frontdoor.policy=least_connections", "frontdoor.health_fall=2", "frontdoor.health_rise=2"});
  std::string last;
  ASSERT_TRUE(WaitForRotation(*cluster_, *client_, disp_->ip, 80, AllFrontends(), 20s, &last)) << "answers: " << last;
  cluster_->Kill(fe_pids[2]);
  // Out of rotation after health_fall failed checks: from then on it is never tried.
  auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline && cluster_->Log().find("back end " + fes_[2]->ip + ":8080 out of rotation") == std::string::npos)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(cluster_->Log().find("back end " + fes_[2]->ip + ":8080 out of rotation"), std::string::npos);
  for (auto& h : cluster_->WhoAmI(*client_, disp_->ip, 80, 9)) EXPECT_TRUE(h == fes_[0]->ip || h == fes_[1]->ip) << h;
  cluster_->StartFrontend(*fes_[2], 2, 8080);
  EXPECT_TRUE(WaitForRotation(*cluster_, *client_, disp_->ip, 80, AllFrontends(), 15s, &last)) << "answers: " << last;
  EXPECT_NE(cluster_->Log().find("back end " + fes_[2]->ip + ":8080 readmitted"), std::string::npos);
}

TEST_F(RelayTest, AClientStaysWithItsFrontEndUnderAffinity) {
  cluster_->StartManager(*mgr_);
  for (size_t i = 0; i < fes_.size(); ++i) cluster_->StartFrontend(*fes_[i], static_cast<int>(i));
  cluster_->StartDispatcher(*disp_, {"frontdoor.mode=relay", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.policy=round_robin",
                                     "frontdoor.affinity=true"});
  // Wait until all three are in the dispatcher's table (the log says so), then: one
  // client, many connections, one front end, although the policy rotates.
  auto deadline = Clock::now() + 20s;
  auto joined = [&] {
    auto log = cluster_->Log();
    return std::all_of(fes_.begin(), fes_.end(), [&](auto* fe) { return log.find("back end " + fe->ip + ":8080 joined") != std::string::npos; });
  };
  while (Clock::now() < deadline && !joined()) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(joined()) << cluster_->Log();
  auto hosts = cluster_->WhoAmI(*client_, disp_->ip, 80, 12);
  EXPECT_EQ(Count(hosts).size(), 1u) << "affinity broke: " << ::testing::PrintToString(hosts);
  EXPECT_EQ(hosts[0].rfind("10.0.0.", 0), 0u) << hosts[0];
}

}  // namespace
}  // namespace tacc::testing
