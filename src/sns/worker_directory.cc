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
    if (old->second.report_token) by_token_.erase(old->second.report_token);
    if (!old->second.draining) Count(old->second, -1);
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
  w.last_heard = now;
  w.report_token = r.report_token;
  if (w.report_token) by_token_[w.report_token] = &w;
  w.totals = &totals_[w.cls];
  Count(w, +1);
  by_conn_[conn] = &w;
  return superseded;
}

Status WorkerDirectory::Report(ConnKey conn, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return Status::NotFound("no worker registered on this connection");
  if (!std::isfinite(weighted_load) || weighted_load < 0) return Status::InvalidArgument("load is not a finite non-negative number");
  Take(*it->second, weighted_load, queue, completed, now);
  return Status::Ok();
}

WorkerDirectory::Announcement WorkerDirectory::Announce(uint64_t token, uint64_t seq, double weighted_load, uint32_t queue, uint64_t completed,
                                                        Clock::time_point now) {
  auto it = token ? by_token_.find(token) : by_token_.end();
  if (it == by_token_.end()) return Announcement::kUnknownToken;
  auto& w = *it->second;
  if (seq <= w.last_report_seq) return Announcement::kReplayed;
  if (!std::isfinite(weighted_load) || weighted_load < 0) return Announcement::kBadLoad;
  w.last_report_seq = seq;
  Take(w, weighted_load, queue, completed, now);
  return Announcement::kTaken;
}

std::vector<WorkerDirectory::ConnKey> WorkerDirectory::Silent(Clock::time_point now, Clock::duration timeout) const {
  std::vector<ConnKey> out;
  for (auto& [id, w] : workers_)
    if (now - w.last_heard > timeout) out.push_back(w.conn);
  return out;
}

void WorkerDirectory::Take(Worker& w, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now) {
  double load = smoothing_ * weighted_load + (1 - smoothing_) * w.load;
  if (!w.draining) w.totals->load += load - w.load;
  w.load = load;
  if (queue > 0 || completed != w.completed) w.last_busy = now;
  w.queue = queue;
  w.completed = completed;
  w.last_heard = now;
}

void WorkerDirectory::MarkLeaving(ConnKey conn) {
  if (auto it = by_conn_.find(conn); it != by_conn_.end()) it->second->leaving = true;
}

bool WorkerDirectory::MarkDraining(const std::string& id) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second.draining) return false;
  Count(it->second, -1);
  it->second.draining = true;
  return true;
}

std::optional<WorkerDirectory::Worker> WorkerDirectory::Remove(ConnKey conn) {
  auto it = by_conn_.find(conn);
  if (it == by_conn_.end()) return std::nullopt;
  auto w = workers_.find(it->second->id);
  by_conn_.erase(it);
  if (w->second.report_token) by_token_.erase(w->second.report_token);
  if (!w->second.draining) Count(w->second, -1);
  Worker out = std::move(w->second);
  out.totals = nullptr;
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

void WorkerDirectory::Count(Worker& w, int sign) {
  auto& t = *w.totals;
  t.live += sign;
  t.load += sign * w.load;
  if (t.live == 0) t.load = 0;  // no rounding left over from the running sum
}

int WorkerDirectory::Live(const std::string& cls) const {
  auto it = totals_.find(cls);
  return it == totals_.end() ? 0 : it->second.live;
}

double WorkerDirectory::MeanLoad(const std::string& cls) const {
  auto it = totals_.find(cls);
  return it == totals_.end() || it->second.live == 0 ? 0 : it->second.load / it->second.live;
}

}  // namespace tacc::sns
