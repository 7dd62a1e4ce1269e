// `tacc frontend`: one HTTP front end process.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <functional>
#include <thread>

#include "cli/common_flags.h"
#include "common/lifeline.h"
#include "sns/frontend.h"

namespace tacc::cli {

namespace {
struct FrontendFlags {
  CommonFlags common;
  uint32_t index = 0;
  int port = -1;
};

int RunFrontend(FrontendFlags& f) {
  auto config = LoadConfig(f.common, "frontend " + std::to_string(f.index));
  if (!config.ok()) return kExitUsage;
  int port = f.port >= 0 ? f.port : (config->frontend.port == 0 ? 0 : config->frontend.port + static_cast<int>(f.index));
  sns::Frontend fe(*config, ToConfigArgs(f.common), f.index, port);
  Status s = fe.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.kind() == ErrorKind::kInvalidArgument ? kExitUsage : kExitUnavailable;
  }
  // Signals and the lifeline are watched on a small loop of their own. SIGTERM: orderly
  // stop (hand-over to a successor, requests in flight finish); SIGINT or a second
  // SIGTERM: at once.
  boost::asio::io_context control{1};
  boost::asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  bool terminating = false;
  const ConfigArgs config_args = ToConfigArgs(f.common);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {  // re-read the configuration; services take what they can live
        auto fresh = Config::Load(config_args.path, config_args.overrides);
        if (!fresh.ok()) spdlog::error("reload: {}; old settings kept", fresh.status().ToString());
        else fe.Reload(*fresh);
        wait_signal();
        return;
      }
      if (sig == SIGTERM && !terminating) {
        terminating = true;
        fe.BeginOrderlyStop();
        wait_signal();
        return;
      }
      spdlog::info("front end stopping at once on signal {}", sig);
      fe.Stop();
    });
  };
  wait_signal();
  WatchLifeline(control, [&] { fe.Stop(); });
  std::thread control_thread([&] { control.run(); });
  fe.Run();
  control.stop();
  control_thread.join();
  return kExitOk;
}
}  // namespace

void AddFrontendCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("frontend", "Run one HTTP front end (normally started by the manager under `tacc up`)");
  auto f = std::make_shared<FrontendFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_option("--index", f->index, "Index of this front end in the cluster (0..frontend.count-1)");
  cmd->add_option("--port", f->port, "HTTP port (default: frontend.port + index; 0: any free port)");
  cmd->callback([f] { g_exit_code = RunFrontend(*f); });
}

}  // namespace tacc::cli
