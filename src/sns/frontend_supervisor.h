// FrontendSupervisor: the manager's table of front ends and, with
// manager.manage_frontends, the processes behind them (paper §2.2.4: process peers).
//
// Front ends register by index (one per connection; a new registration of an index
// supersedes the old connection). With managed slots (one per frontend.count index) it
// launches each front end, and relaunches one whose process died or whose connection
// stayed lost past manager.peer_timeout_ms, after a per-index RestartBackoff delay; a
// hung front end (process alive, connection gone) is killed by its launcher handle
// first. A front end stopping on purpose (orderly stop, docs/design.md) gets its
// successor at once and is not counted as a crash.
//
// No sockets (a connection is an opaque key), time passed in as `now`: unit-tested with
// a fake launcher and a fake clock. Signals only pids its launcher started. The manager
// owns it and calls it from its io_context thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "sns/launcher.h"
#include "sns/restart_backoff.h"
#include "wire/cluster.pb.h"

namespace tacc::sns {

class FrontendSupervisor {
 public:
  using Clock = std::chrono::steady_clock;
  using ConnKey = const void*;  // identifies a connection; never dereferenced

  struct Frontend {
    uint32_t index = 0;
    wire::Endpoint http;
    wire::Endpoint admin;
    pid_t pid = 0;                // as it reported it
    ConnKey conn = nullptr;       // nullptr while its connection is lost
    Clock::time_point lost_at{};  // when its connection dropped
    bool leaving = false;         // orderly stop: gets a successor at once, not counted as a crash
    uint32_t open_connections = 0;  // its load, from its newest FrontendReport
    std::string peer_host;          // the address its manager connection came from
  };
  struct Registration {
    uint32_t index = 0;
    wire::Endpoint http, admin;
    pid_t pid = 0;
    std::string peer_host;  // the connection's remote address, as the manager sees it
  };

  // Keeps references to both; they outlive it.
  FrontendSupervisor(const Config& config, Launcher& launcher);

  // manage_frontends: one slot per frontend.count index, launched by Tick with
  // `frontend --index I --port P` and then `args` (the configuration flags).
  void ManageSlots(std::vector<std::string> args);
  bool managed(uint32_t index) const { return slots_.contains(index); }

  // Records front end `r` on `conn`. InvalidArgument if `conn` carries another index.
  // Returns the connection this registration supersedes (for the caller to close), or nullptr.
  Result<ConnKey> Register(ConnKey conn, const Registration& r);
  bool HasConnection(ConnKey conn) const { return by_conn_.contains(conn); }
  // The connection dropped; the index whose current connection it was, if any.
  std::optional<uint32_t> OnConnectionLost(ConnKey conn, Clock::time_point now);
  // The front end on `conn` stops on purpose: the next Tick launches its successor at
  // once, and it counts as no crash. NotFound if this manager does not restart that index.
  Status BeginOrderlyStop(ConnKey conn);
  void OnProcessExit(pid_t pid, const std::string& how, Clock::time_point now);
  // Launches what the managed slots need (nothing while `adopting`).
  void Tick(Clock::time_point now, bool adopting);
  // Signals every front-end process it launched that has not exited.
  void SignalAll(int signal);

  const std::map<uint32_t, Frontend>& frontends() const { return frontends_; }
  // The front end on `conn` reported its load (FrontendReport); ignored for an unknown connection.
  void OnReport(ConnKey conn, uint32_t open_connections);
  uint64_t launches() const { return launches_; }

 private:
  struct Slot {
    pid_t launched_pid = 0;  // launched and not yet registered
    pid_t child = 0;         // launched by us and not yet exited: the only pid we signal
    Clock::time_point launched_at{};
    int port = 0;
    std::unique_ptr<RestartBackoff> backoff;
    Clock::time_point next_try{};
  };

  const Config& config_;
  Launcher& launcher_;
  std::vector<std::string> args_;
  std::map<uint32_t, Frontend> frontends_;  // registered, by index
  std::unordered_map<ConnKey, uint32_t> by_conn_;
  std::map<uint32_t, Slot> slots_;
  uint64_t launches_ = 0;
};

}  // namespace tacc::sns
