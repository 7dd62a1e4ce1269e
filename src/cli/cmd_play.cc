// `tacc play`: the playback engine (SNS paper §4.1; src/tools/play_engine.h).
//
//   tacc play --target 127.0.0.1:8080 --url http://origin/a.jpg --rate 500 --duration 30s
//   tacc play --target 127.0.0.1:8080 --trace day.trace --speedup 10 --origin http://127.0.0.1:9000
//   tacc play --target :8080 --target :8081 --choice least-outstanding --trace t --users 200 --think pareto:1.4:1s --duration 60s
//
// In rate mode, lines "rate N" on standard input change the rate while it runs.
#include <unistd.h>

#include <fmt/format.h>

#include <iostream>
#include <thread>

#include "cli/common_flags.h"
#include "tools/play_engine.h"
#include "tools/play_report.h"
#include "tools/trace_file.h"

namespace tacc::cli {

namespace {

struct PlayFlags {
  std::vector<std::string> targets;
  std::string target_mode = "forward";
  std::string trace, format = "auto", url, origin, host;
  std::string rate, arrivals = "poisson";
  double speedup = 1;
  bool loop = false;
  int users = 0;
  std::string think = "exp:1s", think_max = "60s";
  std::string duration;
  uint64_t requests = 0;
  std::string choice = "round-robin";
  int max_conns = 256;
  std::string connect_timeout = "3s", timeout = "30s";
  bool no_keepalive = false;
  uint64_t max_outstanding = 100000;
  std::vector<std::string> url_options;
  std::string url_key;
  std::vector<std::string> headers;
  bool no_cookie = false;
  std::string method = "GET";
  std::string json, series, log;
  std::string progress = "auto";
  uint64_t seed = 1;
};

int Fail(const std::string& what, int code = kExitUsage) {
  std::cerr << "tacc play: " << what << "\n";
  return code;
}

int RunPlay(const PlayFlags& f) {
  using namespace tacc::tools;
  std::vector<PlayTarget> targets;
  for (const auto& list : f.targets) {
    size_t start = 0;
    for (;;) {
      size_t comma = list.find(',', start);
      auto t = ParsePlayTarget(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (!t.ok()) return Fail(t.status().message());
      targets.push_back(*t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (targets.empty()) return Fail("give at least one --target host:port");

  RequestShape shape;
  if (!ParseTargetMode(f.target_mode, &shape.mode)) return Fail("--mode must be forward, reverse or url-api");
  shape.origin = f.origin;
  if (!shape.origin.empty() && shape.origin.back() == '/') shape.origin.pop_back();
  if (!shape.origin.empty() && shape.origin.rfind("http://", 0) != 0 && shape.origin.rfind("https://", 0) != 0) {
    return Fail("--origin must be an http:// or https:// URL");
  }
  shape.host_header = f.host;
  shape.extra_headers = f.headers;
  if (f.no_keepalive) shape.extra_headers.push_back("Connection: close");
  if (f.no_cookie) shape.user_cookie.clear();
  for (const auto& o : f.url_options) {
    auto colon = o.find(':');
    if (colon == std::string::npos || colon == 0) return Fail(fmt::format("--url-option '{}' is not name:value", o));
    shape.url_api_options[o.substr(0, colon)] = o.substr(colon + 1);
  }
  if (!f.url_key.empty()) {
    auto keys = tacc_layer::ParseSigningKeys({f.url_key});
    if (!keys.ok()) return Fail("--url-key: " + keys.status().message());
    shape.url_api_key = keys->front();
  }

  PlayConfig config;
  config.seed = f.seed;
  config.method = f.method;
  config.fixed_url = f.url;
  config.max_requests = f.requests;
  config.max_outstanding = f.max_outstanding;
  config.loop_trace = f.loop;
  if (!f.duration.empty() && !ParseSeconds(f.duration, &config.duration_s)) return Fail("--duration must be a time like 30s or 500ms");
  if (f.users > 0) {
    config.mode = LoadMode::kUsers;
    config.users = f.users;
    double think_max = 60;
    if (!ParseSeconds(f.think_max, &think_max)) return Fail("--think-max must be a time like 60s");
    auto think = ThinkTime::Parse(f.think, think_max);
    if (!think.ok()) return Fail(think.status().message());
    config.think = *think;
  } else if (!f.rate.empty()) {
    config.mode = LoadMode::kRate;
    auto steps = ParseRateSteps(f.rate);
    if (!steps.ok()) return Fail("--rate: " + steps.status().message());
    config.rate_steps = *steps;
    if (f.arrivals != "poisson" && f.arrivals != "uniform") return Fail("--arrivals must be poisson or uniform");
    config.poisson = f.arrivals == "poisson";
  } else if (!f.trace.empty()) {
    config.mode = LoadMode::kTrace;
    if (!(f.speedup > 0)) return Fail("--speedup must be > 0");
    config.speedup = f.speedup;
  } else {
    return Fail("say how to offer load: --rate R, --users N, or --trace FILE (played by its timestamps)");
  }

  ClientLimits limits;
  ChoicePolicy policy;
  if (!ParseChoicePolicy(f.choice, &policy)) return Fail("--choice must be round-robin, random, least-outstanding or user");
  limits.max_connections_per_target = f.max_conns;
  limits.keep_alive = !f.no_keepalive;
  double ct = 0, rt = 0;
  if (!ParseSeconds(f.connect_timeout, &ct) || !ParseSeconds(f.timeout, &rt)) return Fail("--connect-timeout and --timeout are times like 3s");
  limits.connect_timeout_ms = static_cast<int>(ct * 1000);
  limits.request_timeout_ms = static_cast<int>(rt * 1000);
  config.drain_ms = limits.request_timeout_ms + 1000;

  Trace trace;
  ImportReport import;
  if (!f.trace.empty()) {
    TraceFormat format;
    if (!ParseFormatName(f.format, &format)) return Fail("--format must be auto, tacc, squid or common");
    Status s = ReadTraceFile(f.trace, format, &trace, &import);
    if (!s.ok()) return Fail(s.message());
    if (import.bad) std::cerr << "tacc play: " << DescribeBadLines(import) << "\n";
    if (trace.records.empty()) return Fail(fmt::format("trace '{}' has no usable request", f.trace));
  }

  PlayEngine engine(config, f.trace.empty() ? nullptr : &trace, RequestBuilder(shape), targets, policy, limits);
  if (Status s = engine.Validate(); !s.ok()) return Fail(s.message());
  engine.StopOnSignals();

  std::FILE* log = nullptr;
  if (!f.log.empty()) {
    log = std::fopen(f.log.c_str(), "w");
    if (!log) return Fail(fmt::format("can't write --log '{}'", f.log), kExitUnavailable);
    engine.SetRequestLog(log);
  }
  bool tty = isatty(STDERR_FILENO) != 0;
  bool show = f.progress == "always" || (f.progress == "auto" && tty);
  if (show) {
    engine.OnProgress([tty](const PlayProgress& p) {
      std::string rate = p.rate > 0 ? fmt::format("rate {:.0f}/s  ", p.rate) : "";
      std::string line = fmt::format("{:7.1f} s  {}answered {:.0f}/s  p50 {:.2f} ms  p99 {:.2f} ms  in flight {}  conns {}  failed {}  approx {}", p.elapsed_s,
                                     rate, p.answered_per_s, p.p50_us / 1000, p.p99_us / 1000, p.in_flight, p.connections, p.failed, p.approximate);
      if (tty) {
        fmt::print(stderr, "\r{:<120}", line);
      } else {
        fmt::print(stderr, "{}\n", line);
      }
      std::fflush(stderr);
    });
  }
  if (config.mode == LoadMode::kRate) {
    // Live control: "rate N" lines on standard input.
    std::thread([&engine] {
      std::string line;
      while (std::getline(std::cin, line)) {
        double r = 0;
        if (std::sscanf(line.c_str(), "rate %lf", &r) == 1 && r >= 0) {
          engine.SetRate(r);
          fmt::print(stderr, "\ntacc play: rate now {:.0f}/s\n", r);
        } else if (line == "stop") {
          engine.RequestStop();
        } else if (!line.empty()) {
          fmt::print(stderr, "\ntacc play: commands are 'rate N' and 'stop'\n");
        }
      }
    }).detach();
  }
  Status s = engine.Run();
  if (show && tty) fmt::print(stderr, "\n");
  if (log) std::fclose(log);
  if (!s.ok()) return Fail(s.message(), kExitInternal);

  RunInfo info;
  info.mode = config.mode == LoadMode::kRate ? "rate" : config.mode == LoadMode::kTrace ? "trace" : "users";
  info.target_mode = f.target_mode;
  for (const auto& t : targets) info.targets.push_back(t.authority());
  info.elapsed_s = engine.elapsed_s();
  info.connections_opened = engine.connections_opened();
  info.import = f.trace.empty() ? nullptr : &import;
  std::cout << SummaryTable(engine.stats(), info);
  if (!f.json.empty()) {
    std::FILE* j = f.json == "-" ? stdout : std::fopen(f.json.c_str(), "w");
    if (!j) return Fail(fmt::format("can't write --json '{}'", f.json), kExitUnavailable);
    fmt::print(j, "{}", SummaryJson(engine.stats(), info));
    if (j != stdout) std::fclose(j);
  }
  if (!f.series.empty()) {
    std::FILE* c = std::fopen(f.series.c_str(), "w");
    if (!c) return Fail(fmt::format("can't write --series '{}'", f.series), kExitUnavailable);
    WriteSeriesCsv(c, engine.stats());
    std::fclose(c);
  }
  return kExitOk;
}

}  // namespace

void AddPlayCommand(CLI::App& app) {
  auto f = std::make_shared<PlayFlags>();
  auto* cmd = app.add_subcommand("play", "Offer load to a service and measure it: open loop at a rate, a trace by its timestamps, or closed-loop users");
  cmd->add_option("--target,-t", f->targets, "Where to send requests, host:port (a front end, a dispatcher); repeatable or comma-separated")->required();
  cmd->add_option("--mode", f->target_mode, "How the service is reached: forward (proxy, absolute URLs), reverse (path + Host), url-api (/_tacc/t/...)")
      ->capture_default_str();
  cmd->add_option("--trace", f->trace, "Trace to play or take URLs from: tacc format, Squid access.log or Common/Combined log ('-': stdin)");
  cmd->add_option("--format", f->format, "Trace format: auto, tacc, squid, common")->capture_default_str();
  cmd->add_option("--url", f->url, "Without a trace: the one URL every request asks for");
  cmd->add_option("--origin", f->origin, "Replace the scheme and host of every URL with this (e.g. http://127.0.0.1:9000, a `tacc trace serve`)");
  cmd->add_option("--host", f->host, "Host header in reverse and url-api modes (default: the target)");
  cmd->add_option("--rate", f->rate, "Open loop: requests/s, or steps '100,200@30,400@60' (rate@second); 'rate N' on stdin changes it live");
  cmd->add_option("--arrivals", f->arrivals, "Open loop: poisson or uniform gaps")->capture_default_str();
  cmd->add_option("--speedup", f->speedup, "Trace playback: divide the trace's timestamps by this")->capture_default_str();
  cmd->add_flag("--loop", f->loop, "Trace playback: start over at the end (until --duration)");
  cmd->add_option("--users", f->users, "Closed loop: this many users, each request -> answer -> think");
  cmd->add_option("--think", f->think, "Closed loop think time: fixed:1s, exp:2s, uniform:0.5s:2s, pareto:1.4:1s (SURGE), lognormal:1s:0.8")
      ->capture_default_str();
  cmd->add_option("--think-max", f->think_max, "Cap on one think time")->capture_default_str();
  cmd->add_option("--duration,-d", f->duration, "Stop offering load after this long (30s, 500ms)");
  cmd->add_option("--requests,-n", f->requests, "Stop after this many requests");
  cmd->add_option("--choice", f->choice, "Target choice per request: round-robin, random, least-outstanding, user (sticky per user)")->capture_default_str();
  cmd->add_option("--max-conns", f->max_conns, "Connections per target at most; beyond, requests wait for one")->capture_default_str();
  cmd->add_option("--connect-timeout", f->connect_timeout, "Connect timeout")->capture_default_str();
  cmd->add_option("--timeout", f->timeout, "Request timeout, first byte out to last byte in")->capture_default_str();
  cmd->add_flag("--no-keepalive", f->no_keepalive, "A new connection for every request");
  cmd->add_option("--max-outstanding", f->max_outstanding, "Open loop: arrivals beyond this many unanswered are dropped (counted)")->capture_default_str();
  cmd->add_option("--url-option", f->url_options, "url-api mode: a transform option name:value (w:320, q:60, f:webp); repeatable");
  cmd->add_option("--url-key", f->url_key, "url-api mode: signing key 'hexkey:hexsalt' (default: unsigned, 'unsafe')");
  cmd->add_option("--header,-H", f->headers, "Extra request header 'Name: value'; repeatable");
  cmd->add_flag("--no-cookie", f->no_cookie, "Send no per-user tacc_user cookie");
  cmd->add_option("--method", f->method, "Method when there is no trace")->capture_default_str();
  cmd->add_option("--json", f->json, "Write the summary as JSON to this file ('-': stdout)");
  cmd->add_option("--series", f->series, "Write the per-second time series as CSV to this file");
  cmd->add_option("--log", f->log, "Write one line per request: start_s end_s target status body_bytes approx error");
  cmd->add_option("--progress", f->progress, "Live one-line progress on stderr: auto (if a terminal), always, never")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for arrivals, choices and think times")->capture_default_str();
  cmd->callback([f] { g_exit_code = RunPlay(*f); });
}

}  // namespace tacc::cli
