// Manager: the cluster's centralized, crash-tolerant policy (paper §2.2.2, §3.1.2-3.1.3).
//
// The glue between the network and its units: it accepts authenticated connections,
// dispatches their messages, runs the timers, and calls the units that hold the state
// and the decisions (docs/design.md, "The manager's units"): the WorkerDirectory
// (registered workers, smoothed loads), the WorkerSupervisor (spawns, crash restarts
// with a per-class back-off, the spawn/reap policy), the FrontendSupervisor (front ends
// and, with manager.manage_frontends, their processes) and the BeaconSender (the
// directory, beaconed every beacon.interval_ms).
// It keeps no log, no mirror, no recovery code: a restarted manager starts with a new
// epoch and everyone re-registers on its first beacons. If it hears the beacons of an
// older manager of its cluster, it asks that manager over TCP whether it is alive with
// that epoch, and only then steps down (a replayed beacon never moves it).
//
// Thread safety: single-threaded; everything runs on the io_context given to it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/process.h"
#include "sns/beacon_listener.h"
#include "sns/beacon_sender.h"
#include "sns/load_report_receiver.h"
#include "sns/launcher.h"
#include "sns/frontend_supervisor.h"
#include "sns/spawn_policy.h"
#include "sns/worker_directory.h"
#include "sns/worker_supervisor.h"
#include "wire/connection.h"

namespace tacc::sns {

class Manager {
 public:
  using Clock = std::chrono::steady_clock;
  Manager(boost::asio::io_context& ctx, Config config, ConfigArgs args, std::unique_ptr<Launcher> launcher);
  ~Manager();

  // Loads the cluster key (config.KeyFile(); NotFound/InvalidArgument if missing or
  // unsafe), takes the manager lock, opens the listening and beacon sockets, starts the loops.
  // Unavailable if another manager of this cluster runs on this host.
  // `fresh`: a brand-new cluster, so no running front ends to wait for.
  Status Start(bool fresh = false);
  // Stops accepting, closes connections; with `stop_children`, asks the processes it
  // launched to exit.
  void Stop(bool stop_children);
  // Passes SIGHUP on to the front ends it runs (they re-read the configuration).
  void ReloadFrontends();

  uint64_t epoch() const { return epoch_; }
  uint16_t port() const;

  // Counters for the benchmark and tests.
  uint64_t reports_received() const { return reports_; }
  uint64_t beacons_sent() const { return beacons_ ? beacons_->beacons_sent() : 0; }

 private:
  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> AcceptOne(boost::asio::ip::tcp::socket socket, std::string name);
  boost::asio::awaitable<void> PolicyLoop();
  boost::asio::awaitable<void> ConfirmOlderManager(wire::Endpoint at, uint64_t epoch);

  void OnMessage(const wire::Connection::Ptr& conn, wire::Envelope&& env);
  void OnClose(const wire::Connection::Ptr& conn, const Status& why);
  void OnRegisterWorker(const wire::Connection::Ptr& conn, const wire::Envelope& env);
  void OnRegisterFrontend(const wire::Connection::Ptr& conn, const wire::Envelope& env);
  void OnLoadReport(const wire::Connection::Ptr& conn, const wire::LoadReport& report);
  void OnSpawnRequest(const std::string& cls);
  void OnProcessExit(pid_t pid, const std::string& how);
  void OnForeignBeacon(const wire::Beacon& beacon);

  void SendBeacon();  // an extra beacon soon (coalesced)
  wire::Beacon BuildBeacon(wire::BeaconPacker& entries);  // header fields; entries into the packer
  void RunPolicy();
  void Drain(const std::string& id);  // tells a worker the supervisor reaped to finish and leave
  void CloseSilentWorkers(Clock::time_point now);  // no load report within manager.peer_timeout_ms
  bool Adopting(Clock::time_point now) const;
  wire::Connection* ConnOf(const void* key) const;    // nullptr if closed

  boost::asio::io_context& ctx_;
  Config config_;
  ConfigArgs args_;
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<SpawnPolicy> policy_;
  uint64_t epoch_;
  WorkerDirectory workers_;
  WorkerSupervisor supervisor_;
  FrontendSupervisor frontends_;
  std::optional<FileLock> lock_;
  Clock::time_point started_;
  bool fresh_ = false;
  bool running_ = false;

  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<BeaconSender> beacons_;
  std::unique_ptr<BeaconListener> foreign_listener_;  // detects a second manager (headers only)
  std::unique_ptr<LoadReportReceiver> load_reports_;   // workers' load datagrams; null: over TCP
  std::mt19937_64 token_rng_{std::random_device{}()};  // report tokens (unguessable is not needed: datagrams are sealed)
  Clock::time_point last_silence_check_{};
  bool probing_ = false;                               // a ConfirmOlderManager is under way
  Clock::time_point last_probe_{};

  // All open connections, by the key the units know them by.
  std::unordered_map<const void*, wire::Connection::Ptr> connections_;
  wire::ClusterAuthPtr auth_;
  int handshakes_ = 0;  // connections still proving the key
  uint64_t reports_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
