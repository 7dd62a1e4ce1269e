// FakeLauncher: a Launcher for unit tests of the manager's supervisors. It hands out
// pids from 1000 up, records every launch and every signal, and keeps a process
// "alive" until the test says it exited (Exit) or it is killed with SIGKILL. It signals
// nothing real and, like the local launcher, refuses pids it did not start.
#pragma once

#include <signal.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sns/launcher.h"

namespace tacc::sns {

class FakeLauncher : public Launcher {
 public:
  Result<pid_t> Launch(const std::vector<std::string>& args) override {
    if (fail_launches) return Status::Unavailable("fake launch failure");
    pid_t pid = next_pid_++;
    launches.push_back(args);
    launched.insert(pid);
    alive.insert(pid);
    return pid;
  }
  bool Kill(pid_t pid, int signal) override {
    if (!launched.contains(pid) || !alive.contains(pid)) {
      refused.push_back(pid);
      return false;
    }
    kills.emplace_back(pid, signal);
    if (signal == SIGKILL) alive.erase(pid);
    return true;
  }
  bool Alive(pid_t pid) const override { return alive.contains(pid); }
  void SetExitHandler(ExitHandler handler) override { handler_ = std::move(handler); }

  // The process ended by itself; tells the exit handler, if any.
  void Exit(pid_t pid, const std::string& how = "exited with 1") {
    alive.erase(pid);
    if (handler_) handler_(pid, how);
  }
  pid_t last_pid() const { return next_pid_ - 1; }
  bool KilledWith(pid_t pid, int signal) const {
    for (auto& k : kills)
      if (k == std::pair{pid, signal}) return true;
    return false;
  }

  bool fail_launches = false;
  std::vector<std::vector<std::string>> launches;
  std::vector<std::pair<pid_t, int>> kills;
  std::vector<pid_t> refused;
  std::set<pid_t> launched, alive;

 private:
  pid_t next_pid_ = 1000;
  ExitHandler handler_;
};

}  // namespace tacc::sns
