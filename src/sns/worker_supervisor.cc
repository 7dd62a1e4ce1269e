#include "sns/worker_supervisor.h"

#include <algorithm>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"

namespace tacc::sns {

using Millis = std::chrono::milliseconds;

namespace {

struct SupervisorCounters {
  Counter& spawns = Metrics().counter("tacc_manager_spawns_total", "Workers launched (on demand, by policy, restarts)");
  Counter& restarts = Metrics().counter("tacc_manager_worker_restarts_total", "Crashed workers restarted");
  Counter& crashes = Metrics().counter("tacc_manager_worker_crashes_total", "Workers lost without deregistering, or failed starts");
  Counter& reaps = Metrics().counter("tacc_manager_reaps_total", "Idle workers reaped");
  Counter& suspended =
      Metrics().counter("tacc_manager_restarts_suspended_total", "Times a class's restarts were suspended for crashing too often");
};
SupervisorCounters& Counters() {
  static SupervisorCounters c;
  return c;
}

}  // namespace

WorkerSupervisor::ClassState::ClassState(const Config& c)
    : backoff(Millis(c.manager.restart_backoff_min_ms), Millis(c.manager.restart_backoff_max_ms),
              std::chrono::seconds(c.manager.restart_window_s), c.manager.restart_max) {}

WorkerSupervisor::WorkerSupervisor(const Config& config, Launcher& launcher, WorkerDirectory& directory, const SpawnPolicy& policy,
                                   std::string token_prefix)
    : config_(config), launcher_(launcher), directory_(directory), policy_(policy), token_prefix_(std::move(token_prefix)) {}

WorkerSupervisor::ClassState& WorkerSupervisor::StateOf(const std::string& cls) {
  auto it = classes_.find(cls);
  if (it == classes_.end()) it = classes_.emplace(cls, ClassState(config_)).first;
  return it->second;
}

int WorkerSupervisor::PendingCount(const std::string& cls) const {
  int n = 0;
  for (auto& [tok, p] : pending_)
    if (p.cls == cls) ++n;
  if (auto it = classes_.find(cls); it != classes_.end()) n += static_cast<int>(it->second.restarts_due.size());
  return n;
}

int WorkerSupervisor::LaunchesAndLive(const std::string& cls) const {
  int n = directory_.Live(cls);
  for (auto& [tok, p] : pending_)
    if (p.cls == cls) ++n;
  return n;
}

uint64_t WorkerSupervisor::TotalCrashes(const std::string& cls) const {
  auto it = classes_.find(cls);
  return it == classes_.end() ? 0 : it->second.backoff.total_crashes();
}

bool WorkerSupervisor::Suspended(const std::string& cls, Clock::time_point now) const {
  auto it = classes_.find(cls);
  return it != classes_.end() && it->second.backoff.Suspended(now);
}

pid_t WorkerSupervisor::PendingPid(const std::string& token) const {
  if (token.empty()) return 0;
  auto it = pending_.find(token);
  return it == pending_.end() ? 0 : it->second.pid;
}

bool WorkerSupervisor::Spawn(const std::string& cls, const std::string& reason, Clock::time_point now) {
  auto& st = StateOf(cls);
  if (st.backoff.Suspended(now)) return false;
  // Restarts, policy spawns and on-demand spawns all pass here: together they never
  // exceed the class's maximum.
  const ClassConfig* cc = config_.FindClass(cls);
  if (cc && LaunchesAndLive(cls) >= cc->max_workers) {
    spdlog::debug("not spawning a worker of class {} ({}): {} live or starting, max_workers {}", cls, reason, LaunchesAndLive(cls),
                  cc->max_workers);
    return false;
  }
  std::string token = fmt::format("{}-{}", token_prefix_, next_token_++);
  std::vector<std::string> argv = {"worker", "--class", cls, "--spawn-token", token};
  argv.insert(argv.end(), worker_args_.begin(), worker_args_.end());
  auto pid = launcher_.Launch(argv);
  st.last_spawn = now;
  if (!pid.ok()) {
    spdlog::error("cannot launch worker of class {}: {}", cls, pid.status().ToString());
    RecordCrash(cls, "launch failed", now);
    return false;
  }
  pending_[token] = PendingSpawn{cls, *pid, now + Millis(config_.manager.spawn_timeout_ms)};
  Counters().spawns.Inc();
  spdlog::info("spawned worker of class {} (pid {}): {}", cls, *pid, reason);
  return true;
}

bool WorkerSupervisor::SpawnOnDemand(const std::string& cls, Clock::time_point now) {
  if (!config_.FindClass(cls)) return false;
  if (directory_.Live(cls) + PendingCount(cls) > 0) return false;
  return Spawn(cls, "on demand: a front end has a task and no worker", now);
}

void WorkerSupervisor::OnWorkerLost(const WorkerDirectory::Worker& w, const std::string& why, Clock::time_point now) {
  // A worker that went silent but whose process is still there is hung: make sure it
  // is gone before its replacement comes (it may hold memory, or wake up and confuse).
  if (w.launched_pid > 0 && launcher_.Alive(w.launched_pid)) launcher_.Kill(w.launched_pid, SIGKILL);
  if (w.leaving || w.draining) {
    spdlog::info("worker {} left", w.id);
  } else {
    RecordCrash(w.cls, fmt::format("worker {} (pid {}) lost: {}", w.id, w.pid, why), now);
  }
}

bool WorkerSupervisor::OnProcessExit(pid_t pid, const std::string& how, Clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second.pid == pid) {
      std::string cls = it->second.cls;
      pending_.erase(it);
      RecordCrash(cls, fmt::format("worker of class {} (pid {}) {} before registering", cls, pid, how), now);
      return true;
    }
  }
  for (auto& [id, w] : directory_.workers())
    if (w.launched_pid == pid && !w.leaving && !w.draining) spdlog::warn("worker {} (pid {}) {}", id, pid, how);
  return false;
}

void WorkerSupervisor::RecordCrash(const std::string& cls, const std::string& what, Clock::time_point now) {
  auto& st = StateOf(cls);
  st.backoff.RecordCrash(now);
  Counters().crashes.Inc();
  if (st.backoff.Suspended(now)) {
    if (!st.suspended_reported) {
      Counters().suspended.Inc();
      spdlog::error("{}; class {} crashed {} times in {} s: restarts suspended until the crashes age out", what, cls,
                    st.backoff.CrashesInWindow(now), config_.manager.restart_window_s);
      st.suspended_reported = true;
    }
    return;
  }
  auto delay = st.backoff.Delay(now);
  st.restarts_due.push_back(now + delay);
  spdlog::warn("{}; restarting in {} ms", what, std::chrono::duration_cast<Millis>(delay).count());
}

std::vector<std::string> WorkerSupervisor::Tick(Clock::time_point now, bool adopting) {
  // Launched workers that never registered are failed starts.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline) {
      auto p = it->second;
      it = pending_.erase(it);
      if (p.pid > 0) launcher_.Kill(p.pid, SIGKILL);
      RecordCrash(p.cls,
                  fmt::format("worker of class {} (pid {}) did not register within {} ms", p.cls, p.pid, config_.manager.spawn_timeout_ms),
                  now);
    } else {
      ++it;
    }
  }
  std::vector<std::string> reaped;
  if (adopting) return reaped;  // running workers are still re-registering
  for (auto& [name, cc] : config_.classes) RunClassPolicy(cc, now, reaped);
  return reaped;
}

void WorkerSupervisor::RunClassPolicy(const ClassConfig& cc, Clock::time_point now, std::vector<std::string>& reaped) {
  auto& st = StateOf(cc.name);
  if (!st.backoff.Suspended(now)) st.suspended_reported = false;
  // Due crash restarts first.
  for (auto it = st.restarts_due.begin(); it != st.restarts_due.end();) {
    if (*it <= now) {
      it = st.restarts_due.erase(it);
      if (Spawn(cc.name, "restart after crash", now)) Counters().restarts.Inc();
    } else {
      ++it;
    }
  }
  ClassLoadView v;
  v.config = &cc;
  v.pending = PendingCount(cc.name);
  v.last_spawn = st.last_spawn;
  v.live = directory_.Live(cc.name);
  v.mean_load = directory_.MeanLoad(cc.name);
  const double l = config_.manager.reap_threshold;
  const bool light = l > 0 && v.pending == 0 && v.live > std::max(1, cc.min_workers) && v.mean_load * v.live / (v.live - 1) < l;
  if (!light) st.light_since = {};
  else if (st.light_since == Clock::time_point{}) st.light_since = now;
  v.light_since = st.light_since;
  v.list_workers = [this, &cc, now](std::vector<WorkerLoadView>& out) {
    out.reserve(static_cast<size_t>(directory_.Live(cc.name)));
    for (auto& [id, w] : directory_.workers())
      if (w.cls == cc.name && !w.draining) out.push_back({id, w.load, now - w.last_busy});
  };
  auto d = policy_.Decide(v, now);
  for (int i = 0; i < d.spawn; ++i)
    if (!Spawn(cc.name, d.reason, now)) break;
  if (!d.reap.empty()) st.light_since = {};  // the next reap for lightness waits R again
  for (auto& id : d.reap) {
    if (!directory_.MarkDraining(id)) continue;
    Counters().reaps.Inc();
    spdlog::info("reaping worker {}: {}", id, d.reason);
    reaped.push_back(id);
  }
}

void WorkerSupervisor::SignalAll(int signal) {
  for (auto& [id, w] : directory_.workers())
    if (w.launched_pid > 0) launcher_.Kill(w.launched_pid, signal);
  for (auto& [tok, p] : pending_)
    if (p.pid > 0) launcher_.Kill(p.pid, signal);
}

}  // namespace tacc::sns
