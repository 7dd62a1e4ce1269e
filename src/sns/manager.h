// Manager: the cluster's centralized, crash-tolerant policy (paper §2.2.2, §3.1.2-3.1.3).
//
// Keeps a soft-state directory of workers by class (filled only by registrations and
// load reports), smooths each worker's reported load, beacons the directory every
// beacon.interval_ms (through its BeaconSender), and runs the spawn/reap policy. It restarts crashed workers (with
// a per-class backoff) and, when manager.manage_frontends is set, the front ends.
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
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/process.h"
#include "sns/beacon_listener.h"
#include "sns/beacon_sender.h"
#include "sns/launcher.h"
#include "sns/restart_backoff.h"
#include "sns/spawn_policy.h"
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

  uint64_t epoch() const { return epoch_; }
  uint16_t port() const;

  // Counters for the benchmark and tests.
  uint64_t reports_received() const { return reports_; }
  uint64_t beacons_sent() const { return beacons_ ? beacons_->beacons_sent() : 0; }

 private:
  struct WorkerRecord {
    std::string id, cls, host;
    wire::Endpoint address;
    pid_t pid = 0;           // as the worker reported it: for logs and status only
    pid_t launched_pid = 0;  // set only if our launcher started it: the only pid we ever signal
    wire::Connection::Ptr conn;
    double load = 0;
    uint32_t queue = 0;
    uint64_t completed = 0;
    Clock::time_point last_busy;
    bool draining = false;
    bool leaving = false;  // deregistered: not a crash when the connection drops
  };
  struct PendingSpawn {
    std::string cls;
    pid_t pid = 0;
    Clock::time_point deadline;
  };
  struct ClassState {
    explicit ClassState(const Config& c);
    Clock::time_point last_spawn{};
    RestartBackoff backoff;
    std::vector<Clock::time_point> restarts_due;  // scheduled crash restarts
    bool suspended_reported = false;
  };
  struct FrontendRecord {
    uint32_t index = 0;
    wire::Endpoint http;
    wire::Endpoint admin;
    pid_t pid = 0;
    wire::Connection::Ptr conn;
    Clock::time_point lost_at{};  // when its connection dropped
    bool leaving = false;         // orderly stop: gets a successor at once, not counted as a crash
  };
  struct FrontendSlot {  // manage_frontends: one per configured index
    pid_t launched_pid = 0;  // launched and not yet registered
    pid_t child = 0;         // launched by us and not yet exited: the only pid we signal
    Clock::time_point launched_at{};
    int port = 0;
    std::unique_ptr<RestartBackoff> backoff;
    Clock::time_point next_try{};
  };

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
  void OnWorkerLost(const std::string& id, const std::string& why);
  void OnProcessExit(pid_t pid, const std::string& how);
  void OnForeignBeacon(const wire::Beacon& beacon);

  void SendBeacon();  // an extra beacon soon (coalesced)
  wire::Beacon BuildBeacon(wire::BeaconPacker& entries);  // header fields; entries into the packer
  void RunPolicy();
  void RunClassPolicy(const ClassConfig& cc, Clock::time_point now);
  bool SpawnWorker(const std::string& cls, const std::string& reason);
  void ReapWorker(const std::string& id, const std::string& reason);
  void RecordCrash(const std::string& cls, const std::string& what);
  void ManageFrontends(Clock::time_point now);
  bool Adopting(Clock::time_point now) const;
  ClassState& StateOf(const std::string& cls);
  int PendingCount(const std::string& cls) const;
  int LaunchesAndLive(const std::string& cls) const;  // live workers + launches in flight

  boost::asio::io_context& ctx_;
  Config config_;
  ConfigArgs args_;
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<SpawnPolicy> policy_;
  std::optional<FileLock> lock_;
  uint64_t epoch_;
  Clock::time_point started_;
  bool fresh_ = false;
  bool running_ = false;

  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<BeaconSender> beacons_;
  std::unique_ptr<BeaconListener> foreign_listener_;  // detects a second manager (headers only)
  bool probing_ = false;                               // a ConfirmOlderManager is under way
  Clock::time_point last_probe_{};

  std::map<std::string, WorkerRecord> workers_;  // by id
  // Straight to the record (std::map nodes stay put): a load report costs one hash
  // lookup, not a hash lookup and a string-keyed tree walk (10,000 workers: 20,000 a second).
  std::unordered_map<const wire::Connection*, WorkerRecord*> worker_by_conn_;
  std::map<std::string, PendingSpawn> pending_;  // by spawn token
  std::map<std::string, ClassState> classes_;
  std::map<uint32_t, FrontendRecord> frontends_;  // registered, by index
  std::unordered_map<const wire::Connection*, uint32_t> frontend_by_conn_;
  std::map<uint32_t, FrontendSlot> frontend_slots_;
  std::vector<wire::Connection::Ptr> connections_;  // all open, for Stop()
  wire::ClusterAuthPtr auth_;
  int handshakes_ = 0;  // connections still proving the key
  uint64_t reports_ = 0;
  uint64_t next_token_ = 1;
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
