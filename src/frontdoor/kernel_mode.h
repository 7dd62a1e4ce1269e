// KernelMode: the nat (L4/3) and dsr (L4/2) modes of `tacc dispatch`. The packets never
// reach this process: it programs the kernel's data path (NatDatapath: nftables;
// DsrDatapath: tc-BPF) and keeps it in step with the back ends in rotation.
//
// Per-connection policies cannot run per packet, so the kernel chooses from a weighted
// Maglev slot table (MaglevTable) rebuilt whenever the rotation changes: weights are the
// back ends' frontdoor.backends weights, and with policy load_weighted also fall with the
// front ends' loads from the beacons (weight / (1 + load)). nat maps round_robin,
// random and source_hash to the kernel's own choices (numgen inc, numgen random, jhash of
// the client address); round_robin becomes the connection hash when failover_state is
// stateless (a standby must compute the same choice). dsr always hashes the connection.
//
// Failover state (frontdoor.failover_state) goes through the hooks Failover calls:
// "replicated" sends the data path's connection map with the active one's heartbeats
// and loads the peer's into the standby's data path as it arrives; "rebuild", on
// becoming active, asks every front end in rotation for its connections
// (ConnectionRebuild) and loads them. With nat round_robin or random, packets of
// connections the kernel does not know are dropped until then (the client retransmits).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <map>
#include <set>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/config.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/cluster_address.h"
#include "frontdoor/dispatcher.h"
#include "frontdoor/failover.h"
#include "wire/handshake.h"

namespace tacc::frontdoor {

class DeadDrop;
class DsrDatapath;
class NatDatapath;

class KernelMode : public ModeServer {
 public:
  // Slot table sizes (primes): dsr's BPF array takes the Maglev default; nat's nftables
  // map is rebuilt in one transaction per change, which costs ~0.5 s at 65537 slots.
  static constexpr uint32_t kDsrSlots = 65537;
  static constexpr uint32_t kNatSlots = 4093;
  static constexpr std::chrono::milliseconds kResolveTimeout{300};

  // `own_address`: whether this mode puts the cluster address on the interface itself
  // (a dispatcher with no standby peer; a pair's Failover does it otherwise).
  // A back end's admin listener (host, port), if it is a tacc front end known from the
  // beacons: where "rebuild" asks for its connections.
  using AdminOf = std::function<std::optional<std::pair<std::string, uint16_t>>(const std::string& backend_id)>;

  // `auth` and `admin_of`: for failover_state "rebuild" (may be null/empty otherwise).
  KernelMode(boost::asio::io_context& ctx, const Config& config, BackendTable& table, bool own_address, wire::ClusterAuthPtr auth = nullptr,
             AdminOf admin_of = nullptr);
  ~KernelMode() override;
  Status Start() override;
  void Stop() override;

  // Failover hooks (see Failover::Hooks).
  Failover::Hooks hooks();

 private:
  void Reprogram();
  // Resolves the MACs of `ips` (ip -> back-end id) on the resolver thread; programs dsr
  // again as each becomes known.
  void ResolveInBackground(const std::map<boost::asio::ip::address_v4, std::string>& ips);
  // "rebuild": asks the front ends in rotation for their connections and loads them.
  boost::asio::awaitable<void> RebuildFromFrontends();

  boost::asio::io_context& ctx_;
  Config config_;
  BackendTable& table_;
  std::string interface_;
  std::unique_ptr<ClusterAddress> address_;
  std::unique_ptr<DeadDrop> dead_drop_;
  std::unique_ptr<DsrDatapath> dsr_;
  std::unique_ptr<NatDatapath> nat_;
  uint64_t programmed_generation_ = ~uint64_t{0};
  wire::ClusterAuthPtr auth_;
  AdminOf admin_of_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::set<boost::asio::ip::address_v4> resolving_;  // MACs being resolved now
  // Last member: destroyed (joined) first, before anything its work refers to.
  boost::asio::thread_pool resolver_{1};
};

}  // namespace tacc::frontdoor
