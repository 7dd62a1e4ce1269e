// Frontend: one `tacc frontend` process (paper §3.1.1).
//
// frontend.threads event-loop threads, each with its own io_context, HTTP server (all
// bound to one port with SO_REUSEPORT), manager stub and service instance, so nothing
// on the request path is shared or locked except the directory snapshot and the
// front end's HTTP budget (connections, buffered request bytes: atomics). Thread 0 also
// runs the ManagerLink (beacons, registration, manager restarts), the launcher and the
// admin listener.
//
// The public port serves only the service. The admin listener (frontend.admin_host,
// loopback by default; frontend.admin_port + index) serves /_tacc/health,
// /_tacc/metrics (Prometheus) and /_tacc/status (JSON view of the beacon directory),
// and POST /_tacc/connections, a dispatcher's sealed question about the connections
// this host holds (ConnectionReporter; failover_state "rebuild"); its address goes to
// the manager with the registration and from there into beacons.
//
// Orderly stop (SIGTERM): BeginOrderlyStop() asks the manager for a successor, hands
// the listening sockets to it (ListenerHandover), stops accepting, lets requests in
// flight finish within frontend.stop_grace_ms, then stops; Run() returns. Without a
// successor (no manager, or it does not manage front ends) it skips the hand-over.
// docs/design.md, "Orderly stop of a front end", explains why the port never closes.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/process.h"
#include "http/destination_policy.h"
#include "http/server.h"
#include "sns/directory_snapshot.h"
#include "sns/launcher.h"
#include "sns/listener_handover.h"
#include "sns/manager_link.h"

namespace tacc::sns {

class ConnectionReporter;

class Frontend {
 public:
  Frontend(Config config, ConfigArgs args, uint32_t index, int port);
  ~Frontend();
  // Loads the cluster key (config.KeyFile()), takes the per-index lock (or, if a
  // stopping front end of this index offers them, its lock and listening sockets),
  // binds, starts the service on every thread.
  Status Start();
  // Runs until stopped (a signal or the lifeline); returns when all threads end.
  void Run();
  // Orderly stop (see above). Thread-safe, returns at once; a second call does nothing.
  void BeginOrderlyStop();
  void Stop();  // at once; thread-safe
  // Hands a re-read configuration to every thread's service (SIGHUP): what a service
  // can change live (dispatch rules...) changes; connections stay. Thread-safe; waits
  // until every thread has taken it.
  void Reload(const Config& config);
  uint16_t port() const { return port_; }
  uint16_t admin_port() const { return admin_port_; }

 private:
  class Shard;
  class AdminHandler;
  void OrderlyStop();  // on stop_thread_
  bool AskForSuccessor(std::chrono::steady_clock::time_point deadline);
  bool HandOver(HandoverChannel& channel, std::chrono::steady_clock::time_point deadline);
  // Runs fn(shard) on every shard's thread and waits (bounded) for all to finish.
  void OnEveryShard(const std::function<void(Shard&)>& fn);
  std::string HandoverPath() const;

  Config config_;
  ConfigArgs args_;
  uint32_t index_;
  int requested_port_;
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
  std::optional<FileLock> lock_;
  SharedDirectory directory_;
  std::shared_ptr<http::ServerBudget> budget_;        // the public port's, shared by the shards
  std::shared_ptr<http::ServerBudget> admin_budget_;  // small and separate: a flood on the public port can't lock operators out
  http::NetworkList trusted_proxies_;                 // http.trusted_proxies (set in Start, read-only after)
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<ConnectionReporter> reporter_;  // POST /_tacc/connections on the admin listener
  std::unique_ptr<AdminHandler> admin_handler_;
  std::unique_ptr<http::Server> admin_;  // on shard 0
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<ManagerLink> link_;
  std::vector<std::thread> threads_;
  wire::ClusterAuthPtr auth_;
  std::atomic<bool> stopping_{false};  // orderly stop begun
  std::atomic<bool> stopped_{false};   // Stop() called
  std::thread stop_thread_;
};

}  // namespace tacc::sns
