#include "sns/frontend_supervisor.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"

namespace tacc::sns {

using Millis = std::chrono::milliseconds;

namespace {
Counter& FrontendRestarts() {
  static Counter& c = Metrics().counter("tacc_manager_frontend_restarts_total", "Front ends (re)launched");
  return c;
}
}  // namespace

FrontendSupervisor::FrontendSupervisor(const Config& config, Launcher& launcher) : config_(config), launcher_(launcher) {}

void FrontendSupervisor::ManageSlots(std::vector<std::string> args) {
  args_ = std::move(args);
  for (int i = 0; i < config_.frontend.count; ++i) {
    auto& slot = slots_[static_cast<uint32_t>(i)];
    slot.port = config_.frontend.port == 0 ? 0 : config_.frontend.port + i;
    slot.backoff =
        std::make_unique<RestartBackoff>(Millis(config_.manager.restart_backoff_min_ms), Millis(config_.manager.restart_backoff_max_ms),
                                         std::chrono::seconds(config_.manager.restart_window_s), config_.manager.restart_max);
  }
}

Result<FrontendSupervisor::ConnKey> FrontendSupervisor::Register(ConnKey conn, const Registration& r) {
  if (auto it = by_conn_.find(conn); it != by_conn_.end() && it->second != r.index)
    return Status::InvalidArgument("this connection has already registered");
  auto& f = frontends_[r.index];
  ConnKey superseded = nullptr;
  if (f.conn && f.conn != conn) {
    by_conn_.erase(f.conn);
    superseded = f.conn;
  }
  f.index = r.index;
  f.http = r.http;
  f.admin = r.admin;
  f.peer_host = r.peer_host;
  f.leaving = false;
  f.pid = r.pid;
  f.conn = conn;
  by_conn_[conn] = r.index;
  if (auto s = slots_.find(r.index); s != slots_.end()) {
    s->second.launched_pid = 0;
    if (s->second.port == 0) s->second.port = static_cast<int>(r.http.port());
  }
  return superseded;
}

std::optional<uint32_t> FrontendSupervisor::OnConnectionLost(ConnKey conn, Clock::time_point now) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return std::nullopt;
  uint32_t index = it->second;
  by_conn_.erase(it);
  auto f = frontends_.find(index);
  if (f == frontends_.end() || f->second.conn != conn) return std::nullopt;
  f->second.conn = nullptr;
  f->second.lost_at = now;
  return index;
}

Status FrontendSupervisor::BeginOrderlyStop(ConnKey conn) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return Status::NotFound("not a front end");
  uint32_t index = it->second;
  auto rec = frontends_.find(index);
  if (rec == frontends_.end() || rec->second.conn != conn || !slots_.contains(index))
    return Status::NotFound("this manager does not restart front end " + std::to_string(index));
  rec->second.leaving = true;
  spdlog::info("front end {} (pid {}) is stopping on purpose; starting its successor", index, rec->second.pid);
  return Status::Ok();
}

void FrontendSupervisor::OnProcessExit(pid_t pid, const std::string& how, Clock::time_point now) {
  for (auto& [i, f] : frontends_)
    if (f.pid == pid) spdlog::warn("front end {} (pid {}) {}", i, pid, how);
  for (auto& [i, s] : slots_)
    if (s.child == pid) s.child = 0;
  for (auto& [i, s] : slots_)
    if (s.launched_pid == pid) {
      spdlog::warn("front end {} (pid {}) {} before registering", i, pid, how);
      s.launched_pid = 0;
      s.backoff->RecordCrash(now);
      s.next_try = now + s.backoff->Delay(now);
    }
}

void FrontendSupervisor::Tick(Clock::time_point now, bool adopting) {
  if (adopting) return;
  for (auto& [index, slot] : slots_) {
    auto f = frontends_.find(index);
    // Leaving: stopping on purpose; its successor starts while it still serves.
    bool leaving = f != frontends_.end() && f->second.leaving;
    if (f != frontends_.end() && f->second.conn && !leaving) continue;  // healthy
    if (slot.launched_pid > 0 && launcher_.Alive(slot.launched_pid) && now - slot.launched_at < Millis(config_.manager.spawn_timeout_ms))
      continue;
    if (!leaving && f != frontends_.end() && f->second.pid > 0 && launcher_.Alive(f->second.pid) &&
        now - f->second.lost_at < Millis(config_.manager.peer_timeout_ms))
      continue;  // alive, probably reconnecting
    if (now < slot.next_try) continue;
    if (slot.backoff->Suspended(now)) continue;
    if (!leaving && slot.child > 0 && launcher_.Alive(slot.child)) launcher_.Kill(slot.child, SIGKILL);  // hung
    std::vector<std::string> argv = {"frontend", "--index", std::to_string(index), "--port", std::to_string(slot.port)};
    argv.insert(argv.end(), args_.begin(), args_.end());
    bool first = slot.launched_at == Clock::time_point{} && f == frontends_.end();
    auto pid = launcher_.Launch(argv);
    slot.launched_at = now;
    if (!first && !leaving) slot.backoff->RecordCrash(now);  // an orderly stop is no crash
    slot.next_try = now + (first || leaving ? Clock::duration{} : slot.backoff->Delay(now));
    if (!pid.ok()) {
      spdlog::error("cannot launch front end {}: {}", index, pid.status().ToString());
      continue;
    }
    slot.launched_pid = *pid;
    slot.child = *pid;
    ++launches_;
    FrontendRestarts().Inc();
    spdlog::info("{} front end {} (pid {})", first ? "started" : leaving ? "started the successor of" : "restarted", index, *pid);
    // The old connection stays known (a leaving front end still serves, and may still
    // ask): when it drops, it no longer names the index's current record.
    if (f != frontends_.end()) frontends_.erase(f);
  }
}

void FrontendSupervisor::SignalAll(int signal) {
  for (auto& [i, s] : slots_)
    if (s.child > 0) launcher_.Kill(s.child, signal);
}

void FrontendSupervisor::OnReport(ConnKey conn, uint32_t open_connections) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return;
  auto fe = frontends_.find(it->second);
  if (fe != frontends_.end() && fe->second.conn == conn) fe->second.open_connections = open_connections;
}

}  // namespace tacc::sns
