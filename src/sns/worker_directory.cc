#include "sns/worker_directory.h"

#include <cmath>

namespace tacc::sns {

Result<WorkerDirectory::ConnKey> WorkerDirectory::Register(ConnKey conn, Registration r, Clock::time_point now) {
  if (by_conn_.contains(conn)) return Status::InvalidArgument("this connection has already registered");
  ConnKey superseded = nullptr;
  if (auto old = workers_.find(r.id); old != workers_.end()) {
    // Same worker reconnecting: the old connection is stale.
    superseded = old->second.conn;
    by_conn_.erase(superseded);
    workers_.erase(old);
  }
  auto& w = workers_[r.id];
  w.id = std::move(r.id);
  w.cls = std::move(r.cls);
  w.host = std::move(r.host);
  w.address = std::move(r.address);
  w.pid = r.pid;
  w.launched_pid = r.launched_pid;
  w.conn = conn;
  w.last_busy = now;
  by_conn_[conn] = &w;
  return superseded;
}

Status WorkerDirectory::Report(ConnKey conn, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return Status::NotFound("no worker registered on this connection");
  if (!std::isfinite(weighted_load) || weighted_load < 0) return Status::InvalidArgument("load is not a finite non-negative number");
  auto& w = *it->second;
  w.load = smoothing_ * weighted_load + (1 - smoothing_) * w.load;
  if (queue > 0 || completed != w.completed) w.last_busy = now;
  w.queue = queue;
  w.completed = completed;
  return Status::Ok();
}

void WorkerDirectory::MarkLeaving(ConnKey conn) {
  if (auto it = by_conn_.find(conn); it != by_conn_.end()) it->second->leaving = true;
}

bool WorkerDirectory::MarkDraining(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second.draining) return false;
  it->second.draining = true;
  return true;
}

std::optional<WorkerDirectory::Worker> WorkerDirectory::Remove(ConnKey conn) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return std::nullopt;
  auto w = workers_.find(it->second->id);
  by_conn_.erase(it);
  Worker out = std::move(w->second);
  workers_.erase(w);
  return out;
}

const WorkerDirectory::Worker* WorkerDirectory::Find(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

const WorkerDirectory::Worker* WorkerDirectory::FindByConn(ConnKey conn) const {
  auto it = by_conn_.find(conn);
  return it == by_conn_.end() ? nullptr : it->second;
}

int WorkerDirectory::Live(const std::string& cls) const {
  int n = 0;
  for (auto& [id, w] : workers_)
    if (w.cls == cls && !w.draining) ++n;
  return n;
}

}  // namespace tacc::sns
