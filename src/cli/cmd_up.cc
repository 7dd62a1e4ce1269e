// `tacc up`: a whole cluster on this machine with embedded defaults.
//
// Starts the manager (which starts and watches the front ends), prints where the front
// ends listen once they have registered, and on Ctrl-C / SIGTERM stops everything it
// started: it is the child subreaper of the cluster and holds its lifeline, so even
// processes restarted by peers (a manager restarted by a front end, workers of a dead
// manager) end with it, and nothing is left behind.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/common_flags.h"
#include "common/cluster_key.h"
#include "common/lifeline.h"
#include "common/process.h"
#include "sns/beacon_listener.h"

namespace tacc::cli {

namespace {
namespace asio = boost::asio;

struct UpFlags {
  CommonFlags common;
  int frontends = 0;
  int port = -1;
  int threads = -1;
  bool print_config = false;
  std::string dispatch;  // "": no front door; else its mode
};

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    auto rp = line.rfind(')');
    if (rp == std::string::npos) continue;
    char state;
    int ppid;
    if (std::sscanf(line.c_str() + rp + 1, " %c %d", &state, &ppid) == 2 && ppid == parent) out.push_back(std::stoi(name));
  }
  return out;
}

int RunUp(UpFlags& f) {
  std::vector<std::string> extra = {"manager.manage_frontends=true"};
  if (f.frontends > 0) extra.push_back("frontend.count=" + std::to_string(f.frontends));
  if (f.port >= 0) extra.push_back("frontend.port=" + std::to_string(f.port));
  if (f.threads >= 0) extra.push_back("frontend.threads=" + std::to_string(f.threads));
  auto config = LoadConfig(f.common, "up", extra);
  if (!config.ok()) return kExitUsage;
  if (f.dispatch == "l7" && config->http.trusted_proxies.empty()) {
    // The l7 dispatcher names each client in X-Forwarded-For and reaches the front ends
    // from this host: they believe it from here (and so from any local process), so that
    // users without a cookie are told apart. Set http.trusted_proxies to choose otherwise.
    std::vector<std::string> trusted = {"127.0.0.0/8", "::1/128"};
    boost::system::error_code ec;
    auto own = asio::ip::make_address(config->frontend.host, ec);
    if (!ec && !own.is_loopback() && !own.is_unspecified()) trusted.push_back(own.to_string() + (own.is_v4() ? "/32" : "/128"));
    std::string list;
    for (const auto& t : trusted) list += (list.empty() ? "[\"" : ",\"") + t + "\"";
    list += "]";
    f.common.overrides.push_back("http.trusted_proxies=" + list);
    config->http.trusted_proxies = trusted;
    spdlog::info("front ends believe X-Forwarded-For from this host's l7 dispatcher (http.trusted_proxies={})", list);
  }
  if (f.print_config) {
    std::cout << config->ToToml();
    return kExitOk;
  }
  // The cluster's key: made once in the run directory, kept across runs.
  auto key = ClusterKey::LoadOrCreate(config->KeyFile());
  if (!key.ok()) {
    spdlog::error("{}", key.status().ToString());
    return kExitUsage;
  }
  spdlog::info("cluster key {} ({})", key->Fingerprint(), config->KeyFile());
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  asio::io_context ctx{1};
  bool stopping = false;
  int lifeline = -1;
  auto stop = [&](const char* why) {
    if (stopping) return;
    stopping = true;
    std::cout << "tacc up: stopping (" << why << ")" << std::endl;
    if (lifeline >= 0) close(lifeline);  // every descendant sees EOF and exits
    lifeline = -1;
  };
  WatchLifeline(ctx, [&] { stop("parent gone"); });  // when run under a test's lifeline
  auto ll = CreateLifeline();
  if (!ll.ok()) {
    spdlog::error("{}", ll.status().ToString());
    return kExitInternal;
  }
  lifeline = *ll;

  auto manager = SpawnSelf([&] {
    std::vector<std::string> a = {"manager", "--fresh"};
    auto args = ToConfigArgs(f.common).ToArgv();
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }());
  if (!manager.ok()) {
    spdlog::error("cannot start the manager: {}", manager.status().ToString());
    return kExitInternal;
  }

  // The front door: one address for the front ends (frontdoor.*), a peer of the cluster
  // that follows the front ends through the beacons. It holds the lifeline like the rest.
  if (!f.dispatch.empty()) {
    std::vector<std::string> a = {"dispatch", "--mode", f.dispatch};
    auto args = ToConfigArgs(f.common).ToArgv();
    a.insert(a.end(), args.begin(), args.end());
    auto dispatcher = SpawnSelf(a);
    if (!dispatcher.ok()) {
      spdlog::error("cannot start the dispatcher: {}", dispatcher.status().ToString());
      stop("no dispatcher");
    }
  }

  bool announced = false;
  auto listener = sns::BeaconListener::Open(ctx, *config, *key, [&](const wire::Beacon& b) {
    if (announced || b.frontends_size() < config->frontend.count) return;
    announced = true;
    std::cout << "tacc up: cluster '" << config->cluster.name << "' is up (manager pid " << b.manager_pid() << ", "
              << config->beacon.mode << " beacons)\n";
    for (auto& fe : b.frontends())
      std::cout << "  front end " << fe.index() << ": http://" << fe.http().host() << ":" << fe.http().port() << "/  (admin: http://"
                << fe.admin().host() << ":" << fe.admin().port() << "/_tacc/status, /_tacc/metrics)\n";
    std::string base = "http://" + b.frontends(0).http().host() + ":" + std::to_string(b.frontends(0).http().port());
    if (!f.dispatch.empty()) {
      base = "http://" + config->frontdoor.address + ":" + std::to_string(config->frontdoor.port);
      std::cout << "  front door (" << f.dispatch << "): " << base << "/  spreads clients over the front ends\n";
    }
    if (config->frontend.service == "transend")
      std::cout << "  TranSend: open " << base << "/ for how to use it (forward proxy, reverse proxy, URL API); preferences at " << base
                << "/_tacc/prefs\n  try: curl -x " << base << " http://example.com/\n";
    else
      std::cout << "  try: curl " << base << "/task/test?cost_ms=20\n";
    std::cout << "  status: tacc status" << (f.common.config_path.empty() ? "" : " -c " + f.common.config_path)
              << "\n  Ctrl-C stops the cluster." << std::endl;
  });
  if (!listener.ok()) {
    spdlog::error("{}", listener.status().ToString());
    stop("cannot hear beacons");
  } else {
    (*listener)->Start();
  }

  asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGCHLD);
  signals.add(SIGHUP);
  asio::steady_timer deadline(ctx);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {  // reload: the manager passes it on to the front ends
        for (pid_t p : ChildrenOf(getpid())) kill(p, SIGHUP);
      }
      if (sig == SIGINT || sig == SIGTERM) {
        stop(sig == SIGINT ? "interrupt" : "terminate");
        deadline.expires_after(std::chrono::seconds(10));
        deadline.async_wait([&](const boost::system::error_code& tec) {
          if (tec) return;
          for (pid_t p : ChildrenOf(getpid())) kill(p, SIGKILL);
        });
      }
      // Reap whatever ended: our children and orphans handed to us as subreaper.
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      }
      if (stopping && pid < 0 && errno == ECHILD) {
        ctx.stop();
        return;
      }
      wait_signal();
    });
  };
  wait_signal();
  asio::steady_timer announce_timeout(ctx);
  announce_timeout.expires_after(std::chrono::seconds(20));
  announce_timeout.async_wait([&](const boost::system::error_code& ec) {
    if (!ec && !announced) spdlog::warn("front ends have not all registered after 20 s; see the log above");
  });
  ctx.run();
  if (listener.ok()) (*listener)->Stop();
  std::cout << "tacc up: stopped" << std::endl;
  return kExitOk;
}
}  // namespace

void AddUpCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("up", "Run a whole cluster on this machine (manager, front ends, workers on demand)");
  auto f = std::make_shared<UpFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_option("--frontends", f->frontends, "Number of front ends (frontend.count)");
  cmd->add_option("--port", f->port, "HTTP port of front end 0 (frontend.port)");
  cmd->add_option("--threads", f->threads, "Event-loop threads per front end (frontend.threads)");
  cmd->add_flag("--print-config", f->print_config, "Print the configuration in force and exit");
  cmd->add_option("--dispatch", f->dispatch, "Also run the front door (`tacc dispatch`) in this mode on frontdoor.address:frontdoor.port, in front of the front ends")
      ->check(CLI::IsMember({"relay", "l7"}));
  cmd->callback([f] { g_exit_code = RunUp(*f); });
}

}  // namespace tacc::cli
