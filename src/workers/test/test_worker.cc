// The built-in "test" worker: a task of configurable cost, for tests and benchmarks.
//
// Start-up args (classes.<name>.args): mode = "sleep" | "cpu", cost_ms = milliseconds,
// allow_faults = true | false (default false), echo and append (defaults for the task
// args of those names, so that a class in a planned chain marks its step).
// Per-task args override mode, cost_ms, echo and append; echo=1 returns the input (and
// its type), append=TEXT adds TEXT to the output (chains of test steps show each step),
// to=TYPE labels the output with that MIME type (a planned chain's step), handoff=CLASS
// hands the task on to CLASS through the stub (with handoff set to handoff_again's
// value, by default none),
// inject=NAME:V1|V2 offers the virtual cache one more result per value, as if the task
// had NAME=Vi (its output plus "[NAME=Vi]"). Fault injection,
// for tests of the cluster's fault handling: crash=1 aborts the process (a worker may
// crash), fail=1 reports a worker error. Any user can put these in a URL, so they work
// only in a class started with allow_faults = true (on purpose, by whoever wrote the
// configuration); otherwise a task that asks for a fault is refused as an invalid
// argument (HTTP 400 from the test service) and nothing crashes.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "sns/worker_registry.h"

namespace tacc::workers {
namespace {

using sns::TaskInput;
using sns::TaskOutput;

std::string Arg(const std::map<std::string, std::string>& m, const std::string& k, const std::string& dflt) {
  auto it = m.find(k);
  return it == m.end() ? dflt : it->second;
}

class TestWorker : public sns::WorkerFunction {
 public:
  TestWorker(std::string mode, double cost_ms, bool allow_faults, std::map<std::string, std::string> task_defaults)
      : mode_(std::move(mode)), cost_ms_(cost_ms), allow_faults_(allow_faults), task_defaults_(std::move(task_defaults)) {}

  Result<TaskOutput> Process(const TaskInput& given) override {
    TaskInput in = given;
    for (const auto& [k, v] : task_defaults_) in.args.try_emplace(k, v);
    bool crash = Arg(in.args, "crash", "0") == "1", fail = Arg(in.args, "fail", "0") == "1";
    if ((crash || fail) && !allow_faults_)
      return Status::InvalidArgument(
          "test worker: fault injection (crash=1, fail=1) is off; a class that may be crashed on purpose is "
          "configured with classes.<class>.args.allow_faults = true");
    if (crash) std::abort();
    if (fail) return Status::WorkerError("asked to fail");
    if (auto to = Arg(in.args, "handoff", ""); !to.empty()) {
      TaskOutput out;
      out.handoff = sns::Handoff{to, {{"handoff", Arg(in.args, "handoff_again", "")}}};
      return out;
    }
    std::string mode = Arg(in.args, "mode", mode_);
    double cost = cost_ms_;
    if (auto it = in.args.find("cost_ms"); it != in.args.end()) cost = std::atof(it->second.c_str());
    if (cost < 0 || cost > 60000) return Status::InvalidArgument("cost_ms must be within 0..60000");
    auto dur = std::chrono::duration<double, std::milli>(cost);
    if (mode == "cpu") {
      auto until = std::chrono::steady_clock::now() + dur;
      volatile uint64_t x = 0;
      while (std::chrono::steady_clock::now() < until)
        for (int i = 0; i < 1000; ++i) x = x + static_cast<uint64_t>(i);
    } else if (cost > 0) {
      std::this_thread::sleep_for(dur);
    }
    TaskOutput out;
    out.mime_type = "text/plain";
    if (Arg(in.args, "echo", "0") == "1") {
      out.data = in.data;
      if (!in.mime_type.empty()) out.mime_type = in.mime_type;
    } else {
      out.data = fmt::format("done by pid {} ({} {} ms)\n", getpid(), mode, cost);
    }
    out.data += Arg(in.args, "append", "");  // visible in chains: each step adds its mark
    if (auto to = Arg(in.args, "to", ""); !to.empty()) out.mime_type = to;
    out.meta["cost_ms"] = fmt::format("{}", cost);
    if (auto inject = Arg(in.args, "inject", ""); !inject.empty()) {
      auto colon = inject.find(':');
      if (colon == std::string::npos || colon == 0) return Status::InvalidArgument("inject must be NAME:V1|V2...");
      std::string name = inject.substr(0, colon), values = inject.substr(colon + 1);
      for (size_t at = 0; at <= values.size();) {
        size_t bar = values.find('|', at);
        std::string v = values.substr(at, bar == std::string::npos ? std::string::npos : bar - at);
        at = bar == std::string::npos ? values.size() + 1 : bar + 1;
        if (v.empty()) continue;
        sns::CacheInjection inj;
        inj.args[name] = v;
        inj.mime_type = out.mime_type;
        inj.data = out.data + "[" + name + "=" + v + "]";
        out.injections.push_back(std::move(inj));
      }
    }
    return out;
  }

 private:
  std::string mode_;
  double cost_ms_;
  bool allow_faults_;
  std::map<std::string, std::string> task_defaults_;
};

Result<sns::WorkerFunctionPtr> MakeTestWorker(const std::map<std::string, std::string>& args) {
  std::string mode = Arg(args, "mode", "sleep");
  if (mode != "sleep" && mode != "cpu") return Status::InvalidArgument("test worker: mode must be 'sleep' or 'cpu', not '" + mode + "'");
  char* end = nullptr;
  std::string cost_s = Arg(args, "cost_ms", "10");
  double cost = std::strtod(cost_s.c_str(), &end);
  if (end == cost_s.c_str() || cost < 0 || cost > 60000) return Status::InvalidArgument("test worker: cost_ms must be a number within 0..60000");
  std::string faults = Arg(args, "allow_faults", "false");
  if (faults != "true" && faults != "false") return Status::InvalidArgument("test worker: allow_faults must be true or false, not '" + faults + "'");
  std::map<std::string, std::string> task_defaults;
  for (const char* k : {"echo", "append"})
    if (auto it = args.find(k); it != args.end()) task_defaults[k] = it->second;
  return sns::WorkerFunctionPtr(std::make_unique<TestWorker>(mode, cost, faults == "true", std::move(task_defaults)));
}

}  // namespace
}  // namespace tacc::workers

TACC_REGISTER_WORKER(test, "test", "configurable-cost task (mode=sleep|cpu, cost_ms); crash=1/fail=1 inject faults where allow_faults=true",
                     tacc::workers::MakeTestWorker);
