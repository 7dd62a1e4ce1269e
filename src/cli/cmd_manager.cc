// `tacc manager`: the load-balancing manager process.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <thread>

#include "cli/common_flags.h"
#include "common/lifeline.h"
#include "sns/manager.h"

namespace tacc::cli {

namespace {
int RunManager(CommonFlags& flags, bool fresh) {
  auto config = LoadConfig(flags, "manager");
  if (!config.ok()) return kExitUsage;
  boost::asio::io_context ctx{1};
  sns::Manager manager(ctx, *config, ToConfigArgs(flags), sns::MakeLocalLauncher(ctx));
  Status s = manager.Start(fresh);
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.kind() == ErrorKind::kInvalidArgument ? kExitUsage : kExitUnavailable;
  }
  boost::asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        manager.ReloadFrontends();
        wait_signal();
        return;
      }
      spdlog::info("manager stopping on signal {}", sig);
      manager.Stop(false);
      ctx.stop();
    });
  };
  wait_signal();
  WatchLifeline(ctx, [&] {
    manager.Stop(false);
    ctx.stop();
  });
  // Wake-ups in batches: 10,000 workers reporting twice a second, spread evenly, would
  // wake the manager 20,000 times a second, and each wake-up costs more than the report
  // it brings (docs/results.md: 22% of a core unbatched, 12-14% batched). Wait for the
  // first event, handle everything that is ready, then pause 2 ms: busy, the manager
  // wakes at most ~500 times a second; idle, never. Nothing the manager does needs an
  // answer within milliseconds (beacons are due every beacon.interval_ms).
  constexpr auto kWakeBatch = std::chrono::milliseconds(2);
  while (!ctx.stopped()) {
    if (ctx.run_one() == 0) break;
    ctx.poll();
    std::this_thread::sleep_for(kWakeBatch);
  }
  return kExitOk;
}
}  // namespace

void AddManagerCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("manager", "Run the manager: worker directory, beacons, spawning and reaping, restarts");
  auto flags = std::make_shared<CommonFlags>();
  auto fresh = std::make_shared<bool>(false);
  AddCommonFlags(*cmd, *flags);
  cmd->add_flag("--fresh", *fresh, "New cluster: start the front ends at once instead of waiting for running ones to register");
  cmd->callback([flags, fresh] { g_exit_code = RunManager(*flags, *fresh); });
}

}  // namespace tacc::cli
