// `tacc status`: what the manager's beacons say right now (workers, loads, front ends).
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>

#include "cli/common_flags.h"
#include "common/cluster_key.h"
#include "sns/beacon_listener.h"

namespace tacc::cli {

namespace {
struct StatusFlags {
  CommonFlags common;
  int timeout_ms = 3000;
  int count = 1;
};

void Print(const wire::Beacon& b) {
  std::cout << fmt::format("manager {}:{} pid {} epoch {} beacon #{}\n", b.manager().host(), b.manager().port(), b.manager_pid(), b.epoch(), b.seq());
  for (auto& f : b.frontends())
    std::cout << fmt::format("  front end {:<3} http://{}:{}/ pid {}  admin http://{}:{}/_tacc/status\n", f.index(), f.http().host(), f.http().port(), f.pid(),
                             f.admin().host(), f.admin().port());
  for (auto& c : b.classes())
    std::cout << fmt::format("  class {:<12} workers {:<3} pending {:<3} mean queue {:6.2f} crashes {}{}\n", c.name(), c.workers(), c.pending_spawns(),
                             c.mean_load(), c.crashes(), c.restarts_suspended() ? "  RESTARTS SUSPENDED" : "");
  for (auto& w : b.workers()) std::cout << fmt::format("    worker {:<28} pid {:<7} queue {:6.2f}\n", w.id(), w.pid(), w.load());
  std::cout.flush();
}

int RunStatus(StatusFlags& f) {
  auto config = LoadConfig(f.common, "status");
  if (!config.ok()) return kExitUsage;
  // Beacons are signed: without the cluster's key there is nothing to believe.
  auto key = ClusterKey::Load(config->KeyFile());
  if (!key.ok()) {
    std::cerr << "tacc status: " << key.status().message() << "\n";
    return kExitUsage;
  }
  boost::asio::io_context ctx{1};
  int seen = 0;
  auto listener = sns::BeaconListener::Open(ctx, *config, *key, [&](const wire::Beacon& b) {
    Print(b);
    if (++seen >= f.count) ctx.stop();
  });
  if (!listener.ok()) {
    std::cerr << "tacc status: " << listener.status().ToString() << "\n";
    return kExitUnavailable;
  }
  (*listener)->Start();
  boost::asio::steady_timer timer(ctx);
  timer.expires_after(std::chrono::milliseconds(f.timeout_ms) * f.count);
  timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) ctx.stop();
  });
  ctx.run();
  if (seen == 0) {
    std::cerr << fmt::format("tacc status: no beacon of cluster '{}' within {} ms (is it up? same beacon settings?)\n", config->cluster.name, f.timeout_ms);
    return kExitUnavailable;
  }
  return kExitOk;
}
}  // namespace

void AddStatusCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "Show the cluster as the manager's beacons describe it");
  auto f = std::make_shared<StatusFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_option("--timeout-ms", f->timeout_ms, "How long to wait for a beacon");
  cmd->add_option("-n,--count", f->count, "Print this many beacons, then exit");
  cmd->callback([f] { g_exit_code = RunStatus(*f); });
}

}  // namespace tacc::cli
