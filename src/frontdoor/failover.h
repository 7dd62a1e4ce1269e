// Failover: a dispatcher's part in a hot-standby pair (frontdoor.standby_peer).
//
// Every frontdoor.heartbeat_ms it sends a heartbeat to the peer (StandbyLink) and asks
// StandbyRole who should be active. Becoming active: the cluster address is claimed
// (ClusterAddress: added, announced by gratuitous ARP) and the data path told
// (Hooks::on_active, e.g. to load replicated flows); becoming standby: the address is
// released. Heartbeats of the active dispatcher carry, with failover_state =
// "replicated", the flows it made since the previous heartbeat (Hooks::new_flows); the
// standby hands them to its data path (Hooks::take_flows) so they are there the moment
// it takes over. "stateless" sends none: both compute the same hash choice. "rebuild"
// sends none either: the new active one asks the front ends (Hooks::on_active).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>

#include "common/cluster_key.h"
#include "common/config.h"
#include "frontdoor/cluster_address.h"
#include "frontdoor/standby_link.h"
#include "frontdoor/standby_role.h"

namespace tacc::frontdoor {

class Failover {
 public:
  struct Hooks {
    std::function<void()> on_active;
    std::function<void()> on_standby;
    // Flows made since the last call, into `hb` (backends + flows).
    std::function<void(wire::DispatchHeartbeat& hb)> new_flows;
    std::function<void(const wire::DispatchHeartbeat& hb)> take_flows;
  };

  Failover(boost::asio::io_context& ctx, const Config& config, ClusterKey key, Hooks hooks);
  ~Failover();
  Status Start();
  void Stop();
  bool active() const { return role_ && role_->active(); }
  const StandbyLink::Counters* link_counters() const { return link_ ? &link_->counters() : nullptr; }

 private:
  boost::asio::awaitable<void> Loop();
  void OnHeartbeat(const wire::DispatchHeartbeat& hb);
  void Apply();

  boost::asio::io_context& ctx_;
  Config config_;
  ClusterKey key_;
  Hooks hooks_;
  uint64_t incarnation_;
  std::unique_ptr<StandbyRole> role_;
  std::unique_ptr<StandbyLink> link_;
  ClusterAddress address_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tacc::frontdoor
