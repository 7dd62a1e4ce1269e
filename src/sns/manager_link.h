// ManagerLink: a front end's tie to the manager, and its duty as the manager's peer.
//
// Listens to beacons and publishes those of the manager it follows as the new
// DirectorySnapshot; registers the front end with a new manager by the rule of
// ManagerFollower (and publishes its beacons only once that registration succeeded);
// sends a heartbeat each beacon period; forwards spawn requests. When beacons stop for frontend.manager_timeout_ms the
// manager is presumed dead and exactly one front end restarts it (paper §3.1.3):
//   rank = position of this front end's index among the front ends listed in the last
//   beacon (its own index if it has seen none); the front end of rank r acts after
//   (r + 1) * manager_timeout of silence, so rank 0 goes first and the others only step
//   in if rank 0 is gone too. A broken connection to a manager on this host whose
//   process is gone counts at once (timeouts back up broken-connection detection).
//   The manager's per-host lock makes a second, racing
//   manager exit at once, so there are never two.
//
// Thread safety: lives on front-end thread 0; RequestSpawn may be called from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/cluster_key.h"
#include "common/config.h"
#include "sns/beacon_listener.h"
#include "sns/directory_snapshot.h"
#include "sns/launcher.h"
#include "sns/manager_follower.h"
#include "wire/connection.h"

namespace tacc::sns {

class ManagerLink {
 public:
  // `http` and `admin`: where this front end serves, for the registration (and beacons).
  ManagerLink(boost::asio::io_context& ctx, const Config& config, ConfigArgs args, uint32_t index, wire::Endpoint http, wire::Endpoint admin,
              SharedDirectory& directory, Launcher& launcher, wire::ClusterAuthPtr auth);
  // What the front end's load reports carry: its open client connections now (thread-safe).
  void set_load_source(std::function<uint32_t()> open_connections) { open_connections_ = std::move(open_connections); }
  ~ManagerLink();
  Status Start();
  void Stop();
  void RequestSpawn(const std::string& worker_class);  // thread-safe
  // Orderly stop: tells the manager this front end leaves on purpose (Deregister). True
  // if the manager answered that it starts a successor now; false if it doesn't (it
  // does not manage front ends, or there is no manager), or gave no answer in time.
  boost::asio::awaitable<bool> Leave(std::chrono::milliseconds timeout);

 private:
  void OnBeacon(const wire::Beacon& beacon);
  void Publish(const wire::Beacon& beacon);
  boost::asio::awaitable<void> Register(wire::Endpoint manager, uint64_t epoch);
  boost::asio::awaitable<void> WatchLoop();
  int Rank() const;

  boost::asio::io_context& ctx_;
  const Config& config_;
  ConfigArgs args_;
  std::function<uint32_t()> open_connections_;
  uint32_t index_;
  wire::Endpoint http_;
  wire::Endpoint admin_;
  SharedDirectory& directory_;
  Launcher& launcher_;
  wire::ClusterAuthPtr auth_;
  std::unique_ptr<BeaconListener> beacons_;
  wire::Connection::Ptr conn_;
  ManagerFollower follower_;
  std::optional<wire::Beacon> candidate_;  // newest beacon of the manager being registered with
  bool leaving_ = false;  // Leave() was called: the successor registers, not us
  std::chrono::steady_clock::time_point last_beacon_;
  std::chrono::steady_clock::time_point last_restart_{};
  std::chrono::steady_clock::time_point conn_lost_at_{};  // manager connection broke
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
