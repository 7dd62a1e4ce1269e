#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <boost/asio/signal_set.hpp>

#include "common/process.h"
#include "sns/launcher.h"

namespace tacc::sns {

namespace {

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "ended";
}

class LocalLauncher : public Launcher {
 public:
  explicit LocalLauncher(boost::asio::io_context& ctx) : signals_(ctx, SIGCHLD) { Wait(); }
  ~LocalLauncher() override {
    boost::system::error_code ec;
    signals_.cancel(ec);
    for (auto& [pid, child] : children_) CloseChild(child);
  }

  Result<pid_t> Launch(const std::vector<std::string>& args) override {
    auto child = SpawnSelfWithHandle(args);
    if (!child.ok()) return child.status();
    children_[child->pid] = *child;
    return child->pid;
  }
  // Only our own children, by pidfd: a pid we did not start (or have reaped) is refused.
  bool Kill(pid_t pid, int sig) override {
    auto it = children_.find(pid);
    if (it == children_.end()) {
      spdlog::warn("not signalling pid {}: not a process this launcher started", pid);
      return false;
    }
    return SignalChild(it->second, sig);
  }
  bool Alive(pid_t pid) const override { return ProcessAlive(pid); }
  void SetExitHandler(ExitHandler h) override { on_exit_ = std::move(h); }

 private:
  void Wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      Reap();
      Wait();
    });
  }
  void Reap() {
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (auto it = children_.find(pid); it != children_.end()) {
        CloseChild(it->second);
        children_.erase(it);
      }
      if (on_exit_) on_exit_(pid, DescribeExit(status));
    }
  }

  boost::asio::signal_set signals_;
  ExitHandler on_exit_;
  std::map<pid_t, ChildProcess> children_;  // launched, not yet reaped
};

}  // namespace

std::unique_ptr<Launcher> MakeLocalLauncher(boost::asio::io_context& ctx) { return std::make_unique<LocalLauncher>(ctx); }

}  // namespace tacc::sns
