// `tacc dispatch`: the front door, one address for the whole cluster (src/frontdoor/).
#include <boost/asio/signal_set.hpp>

#include <thread>

#include "cli/common_flags.h"
#include "common/lifeline.h"
#include "frontdoor/dispatcher.h"

namespace tacc::cli {

namespace {
struct DispatchFlags {
  CommonFlags common;
  std::string mode, address, policy;
  int port = 0;
  std::vector<std::string> backends;
};

int RunDispatch(DispatchFlags& f) {
  std::vector<std::string> extra;
  if (!f.mode.empty()) extra.push_back("frontdoor.mode=\"" + f.mode + "\"");
  if (!f.address.empty()) extra.push_back("frontdoor.address=\"" + f.address + "\"");
  if (!f.policy.empty()) extra.push_back("frontdoor.policy=\"" + f.policy + "\"");
  if (f.port > 0) extra.push_back("frontdoor.port=" + std::to_string(f.port));
  if (!f.backends.empty()) {
    std::string list = "frontdoor.backends=[";
    for (size_t i = 0; i < f.backends.size(); ++i) list += (i ? ",\"" : "\"") + f.backends[i] + "\"";
    extra.push_back(list + "]");
  }
  auto config = LoadConfig(f.common, "dispatch", extra);
  if (!config.ok()) return kExitUsage;
  frontdoor::Dispatcher dispatcher(*config);
  if (Status s = dispatcher.Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return s.kind() == ErrorKind::kInvalidArgument ? kExitUsage : kExitUnavailable;
  }
  boost::asio::io_context control{1};
  boost::asio::signal_set signals(control, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("dispatcher stopping on signal {}", sig);
    dispatcher.Stop();
  });
  WatchLifeline(control, [&] { dispatcher.Stop(); });
  std::thread control_thread([&] { control.run(); });
  dispatcher.Run();
  control.stop();
  control_thread.join();
  return kExitOk;
}
}  // namespace

void AddDispatchCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("dispatch", "Run the front door: one cluster address spread over the front ends (modes relay, l7, nat, dsr; see README 'Front door')");
  auto f = std::make_shared<DispatchFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_option("--mode", f->mode, "frontdoor.mode: relay | l7 | nat | dsr");
  cmd->add_option("--address", f->address, "frontdoor.address: the cluster address clients connect to");
  cmd->add_option("--port", f->port, "frontdoor.port: the cluster port");
  cmd->add_option("--policy", f->policy, "frontdoor.policy: round_robin, random, least_connections, weighted, fastest_response, source_hash, load_weighted, lard, bounded_hash");
  cmd->add_option("--backend", f->backends, "A static back end host:port[*weight] (repeatable; replaces frontdoor.backends)");
  cmd->callback([f] { g_exit_code = RunDispatch(*f); });
}

}  // namespace tacc::cli
