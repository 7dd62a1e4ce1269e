// `tacc worker --class C`: one worker process (stub + worker function).
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "cli/common_flags.h"
#include "common/lifeline.h"
#include "sns/worker_registry.h"
#include "sns/worker_stub.h"

namespace tacc::cli {

namespace {
struct WorkerFlags {
  CommonFlags common;
  std::string worker_class;
  std::string spawn_token;
  std::string manager;
  bool list = false;
};

int RunWorker(WorkerFlags& f) {
  // A worker has nothing to reload; SIGHUP (sent to a cluster to reload its front ends)
  // must not end it.
  ::signal(SIGHUP, SIG_IGN);
  if (f.list) {
    for (auto* w : sns::ListWorkerImpls()) std::cout << fmt::format("{:<12} {}\n", w->name, w->description);
    return kExitOk;
  }
  if (f.worker_class.empty()) {
    std::cerr << "tacc worker: --class is required (or --list)\n";
    return kExitUsage;
  }
  auto config = LoadConfig(f.common, "worker " + f.worker_class);
  if (!config.ok()) return kExitUsage;
  const ClassConfig* cc = config->FindClass(f.worker_class);
  if (!cc) {
    spdlog::error("unknown worker class '{}': declare it as [classes.{}] in the configuration", f.worker_class, f.worker_class);
    return kExitUsage;
  }
  const sns::WorkerEntry* impl = sns::FindWorkerImpl(cc->worker);
  if (!impl) {
    spdlog::error("setting 'classes.{}.worker': no built-in worker named '{}' (see `tacc worker --list`)", f.worker_class, cc->worker);
    return kExitUsage;
  }
  auto fn = impl->factory(cc->args);
  if (!fn.ok()) {
    spdlog::error("setting 'classes.{}.args': {}", f.worker_class, fn.status().message());
    return kExitUsage;
  }
  boost::asio::io_context ctx{1};
  sns::WorkerStub stub(ctx, *config, f.worker_class, f.spawn_token, std::move(*fn));
  if (!f.manager.empty()) {
    auto colon = f.manager.rfind(':');
    wire::Endpoint ep;
    ep.set_host(f.manager.substr(0, colon));
    ep.set_port(static_cast<uint32_t>(std::atoi(f.manager.c_str() + colon + 1)));
    stub.SetInitialManager(ep);
  }
  Status s = stub.Start();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return kExitUnavailable;
  }
  boost::asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGTERM) stub.Drain("SIGTERM");
    else stub.Stop();
  });
  WatchLifeline(ctx, [&] { stub.Stop(); });
  ctx.run();
  return kExitOk;
}
}  // namespace

void AddWorkerCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("worker", "Run one worker process of a class (normally spawned by the manager)");
  auto f = std::make_shared<WorkerFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_option("--class", f->worker_class, "Worker class to run, as declared in [classes.NAME]");
  cmd->add_option("--spawn-token", f->spawn_token, "Token the manager gave this spawn (internal)");
  cmd->add_option("--manager", f->manager, "host:port of the manager to register with at once (otherwise: the first beacon)");
  cmd->add_flag("--list", f->list, "List the built-in worker implementations and exit");
  cmd->callback([f] { g_exit_code = RunWorker(*f); });

  // `tacc cache`: one partition of the virtual cache, e.g. started by hand on another
  // host of the cluster (the manager starts the local ones itself).
  auto* cache = app.add_subcommand("cache", "Run one partition of the virtual cache (a worker of class cache.worker_class)");
  auto c = std::make_shared<WorkerFlags>();
  AddCommonFlags(*cache, c->common);
  cache->add_option("--manager", c->manager, "host:port of the manager to register with at once (otherwise: the first beacon)");
  cache->callback([c] {
    auto config = Config::Load(c->common.config_path, c->common.overrides);
    c->worker_class = config.ok() ? config->cache.worker_class : "cache";
    g_exit_code = RunWorker(*c);
  });
}

}  // namespace tacc::cli
