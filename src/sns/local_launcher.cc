#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
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
  }

  Result<pid_t> Launch(const std::vector<std::string>& args) override { return SpawnSelf(args); }
  void Kill(pid_t pid, int sig) override {
    if (pid > 0) ::kill(pid, sig);
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
      if (on_exit_) on_exit_(pid, DescribeExit(status));
    }
  }

  boost::asio::signal_set signals_;
  ExitHandler on_exit_;
};

}  // namespace

std::unique_ptr<Launcher> MakeLocalLauncher(boost::asio::io_context& ctx) { return std::make_unique<LocalLauncher>(ctx); }

}  // namespace tacc::sns
