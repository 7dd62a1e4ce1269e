// A hot-standby pair of dispatchers: the standby takes the cluster address when the
// active one is killed -9, and clients reach the front ends through it again.
#include <gtest/gtest.h>

#include <thread>

#include "lab_cluster.h"

namespace tacc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kVip = "10.0.0.100";

class StandbyTest : public LabClusterTest {
 protected:
  StandbyTest() : LabClusterTest(2, 2) {}
  std::vector<std::string> PairSettings(const NetnsLab::Host& peer, int priority, const std::string& mode) {
    return {"frontdoor.mode=" + mode, std::string("frontdoor.address=") + kVip, "frontdoor.port=80", "frontdoor.standby_peer=" + peer.ip + ":7480",
            "frontdoor.priority=" + std::to_string(priority), "frontdoor.heartbeat_ms=100", "frontdoor.takeover_misses=3"};
  }
  bool HasVip(const NetnsLab::Host& h) {
    return lab_->Exec(h, {"ip", "-o", "addr", "show", "dev", "eth0"}).output.find(std::string(kVip) + "/32") != std::string::npos;
  }
};

TEST_F(StandbyTest, TheStandbyTakesTheAddressWhenTheActiveIsKilled) {
  cluster_->StartManager(*mgr_);
  for (size_t i = 0; i < fes_.size(); ++i) cluster_->StartFrontend(*fes_[i], static_cast<int>(i));
  pid_t p1 = cluster_->StartDispatcher(*d1_, PairSettings(*d2_, 200, "relay"));
  cluster_->StartDispatcher(*d2_, PairSettings(*d1_, 100, "relay"));
  // The higher priority holds the address; the other does not.
  auto deadline = Clock::now() + 20s;
  LabReply r;
  while (Clock::now() < deadline) {
    r = cluster_->Get(*client_, kVip, 80, "/whoami", 1s);
    if (r.status == 200) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(r.status, 200) << r.error << cluster_->Log();
  EXPECT_TRUE(HasVip(*d1_));
  EXPECT_FALSE(HasVip(*d2_));

  cluster_->Kill(p1);
  auto killed = Clock::now();
  // Clients get answers through the standby again, within the takeover time plus ARP.
  bool served = false;
  while (Clock::now() < killed + 10s) {
    r = cluster_->Get(*client_, kVip, 80, "/whoami", 500ms);
    if (r.status == 200) {
      served = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  ASSERT_TRUE(served) << cluster_->Log();
  EXPECT_TRUE(HasVip(*d2_));
  EXPECT_NE(cluster_->Log().find("taking over as the active dispatcher: the peer missed 3 heartbeats"), std::string::npos);
  RecordProperty("takeover_ms", static_cast<int>(took.count()));
  std::cout << "takeover: first answer through the standby " << took.count() << " ms after kill -9\n";
}

}  // namespace
}  // namespace tacc::testing
