// Dispatcher: `tacc dispatch`, the front door (ARCHITECTURE.md "Front door"; the
// clustering survey's L4/2, L4/3 and L7 dispatchers).
//
// It owns the back ends (BackendTable, fed by frontdoor.backends and, as a peer of the
// cluster, by the manager's authenticated beacons), their health (HealthChecker and
// passive reports), the choice policy, and one data path per frontdoor.mode:
//   relay: a user-space listener on the cluster address; each connection is relayed to a
//          back end with splice(2);
//   l7:    a user-space HTTP listener that parses every request and routes it by content;
//   nat, dsr: kernel data paths (nftables, tc-BPF) programmed from the table's rotation.
// Soft state only: restarted, it rebuilds everything from its configuration and the
// next beacons.
//
// Thread safety: one event-loop thread (Run); Stop() may be called from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/failover.h"
#include "frontdoor/health_checker.h"
#include "frontdoor/pick_policy.h"

namespace tacc::sns {
class BeaconListener;
}
namespace tacc::wire {
class Beacon;
}

namespace tacc::frontdoor {

class ModeServer;  // the data path of the configured mode

class Dispatcher {
 public:
  explicit Dispatcher(const Config& config);
  ~Dispatcher();

  // Builds the policy, loads the back ends, joins the beacons, opens the data path.
  // InvalidArgument for a bad setting; Unavailable when the address is taken or the
  // kernel refuses.
  Status Start();
  void Run();
  void Stop();  // thread-safe
  // Where the relay/l7 listener took connections (tests: frontdoor.port 0 is not allowed,
  // so this is address:port).
  boost::asio::io_context& context() { return ctx_; }
  BackendTable& table() { return table_; }

 private:
  void OnBeacon(const wire::Beacon& beacon);
  Status LoadStaticBackends();

  Config config_;
  boost::asio::io_context ctx_{1};
  BackendTable table_;
  std::unique_ptr<PickPolicy> policy_;
  std::unique_ptr<HealthChecker> health_;
  std::unique_ptr<sns::BeaconListener> beacons_;
  std::unique_ptr<ModeServer> mode_;
  std::unique_ptr<Failover> failover_;
  // Front ends' admin listeners by back-end id, from the latest beacon (on ctx_'s thread).
  std::map<std::string, std::pair<std::string, uint16_t>> admin_of_;
  std::set<std::string> warned_admin_;  // front ends already warned of a loopback admin listener
};

// A mode's data path, started after the table is loaded.
class ModeServer {
 public:
  virtual ~ModeServer() = default;
  virtual Status Start() = 0;
  virtual void Stop() = 0;
};

}  // namespace tacc::frontdoor
