// `tacc manager`: the load-balancing manager process.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "cli/common_flags.h"
#include "common/lifeline.h"
#include "sns/manager.h"

namespace tacc::cli {

namespace {
int RunManager(CommonFlags& flags) {
  auto config = LoadConfig(flags, "manager");
  if (!config.ok()) return kExitUsage;
  boost::asio::io_context ctx{1};
  sns::Manager manager(ctx, *config, ToConfigArgs(flags), sns::MakeLocalLauncher(ctx));
  Status s = manager.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.kind() == ErrorKind::kInvalidArgument ? kExitUsage : kExitUnavailable;
  }
  boost::asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("manager stopping on signal {}", sig);
    manager.Stop(false);
    ctx.stop();
  });
  WatchLifeline(ctx, [&] {
    manager.Stop(false);
    ctx.stop();
  });
  ctx.run();
  return kExitOk;
}
}  // namespace

void AddManagerCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("manager", "Run the manager: worker directory, beacons, spawning and reaping, restarts");
  auto flags = std::make_shared<CommonFlags>();
  AddCommonFlags(*cmd, *flags);
  cmd->callback([flags] { g_exit_code = RunManager(*flags); });
}

}  // namespace tacc::cli
