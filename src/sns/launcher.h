// Launcher: how the manager (or a front end restarting the manager) starts processes.
//
// The SNS layer only ever asks "run `tacc <args>` somewhere"; the local launcher
// re-executes this binary on this host, node agents on other hosts come later behind
// the same interface. Exit notifications let the manager tell a crash from a worker
// that is merely slow to register.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace boost::asio {
class io_context;
}

namespace tacc::sns {

class Launcher {
 public:
  // pid, and a description of how it ended ("exited with 1", "killed by signal 9").
  using ExitHandler = std::function<void(pid_t pid, const std::string& how)>;
  virtual ~Launcher() = default;
  virtual Result<pid_t> Launch(const std::vector<std::string>& tacc_args) = 0;
  // Signals a process this launcher started (by handle, never a bare pid: a pid that
  // arrived in a message, or one since reused, is refused). False if refused or gone.
  virtual bool Kill(pid_t pid, int signal) = 0;
  virtual bool Alive(pid_t pid) const = 0;
  virtual void SetExitHandler(ExitHandler handler) = 0;
};

// Re-executes `tacc` on this host; reaps its children on SIGCHLD on ctx's thread.
std::unique_ptr<Launcher> MakeLocalLauncher(boost::asio::io_context& ctx);

}  // namespace tacc::sns
