#include "sns/manager_stub.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "common/metrics.h"
#include "wire/cluster_options.h"

namespace tacc::sns {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
struct StubCounters {
  Counter& tasks = Metrics().counter("tacc_stub_tasks_total", "Tasks dispatched to workers (first attempts)");
  Counter& retries = Metrics().counter("tacc_stub_retries_total", "Task attempts repeated on another worker");
  Counter& failures =
      Metrics().counter("tacc_stub_failures_total", "Tasks that failed after all retries (handed to the service's fallback)");
  Counter& spawn_waits = Metrics().counter("tacc_stub_spawn_waits_total", "Tasks that waited for an on-demand spawn");
  Counter& no_worker = Metrics().counter("tacc_stub_no_worker_total", "Tasks for which no worker of the class appeared in time");
};
StubCounters& Counters() {
  static StubCounters c;
  return c;
}

bool Retriable(const Status& s) {
  switch (s.kind()) {
    case ErrorKind::kTimeout:
    case ErrorKind::kUnavailable:
    case ErrorKind::kOverloaded:
    case ErrorKind::kCrashed:
    case ErrorKind::kProtocol:
    case ErrorKind::kNotFound:  // a worker of another class now sits at that address
      return true;
    default:
      return false;
  }
}
}  // namespace

double EstimateQueue(double beacon_load, DispatchCounts own, double mean_answered, int frontends) {
  // Why not scale this front end's whole delta (sent - answered) by the number of front
  // ends, the obvious generalisation of the paper's one-front-end estimator: between two
  // beacons one front end has 0, 1 or 2 tasks in flight at a worker, so that delta is
  // mostly noise, and multiplied it drowns the beacon's loads. Each front end then
  // spreads its tasks by its own in-flight count whatever the queues (issue 6 measured
  // that as close to random placement). Sends do scale: every front end reacts to the
  // same beacon the same way, so what this one sent is a fair guess of what each sent.
  // Answers are where front ends differ, so the others' are taken half from this
  // worker's own count and half from the class mean (docs/design.md has the figures).
  double sent = static_cast<double>(own.sent);
  double answered = static_cast<double>(own.answered);
  double others = std::max(1, frontends) - 1;
  double q = beacon_load + (sent - answered) + others * (sent - 0.5 * (answered + mean_answered));
  if (std::isnan(q)) return q;  // the policies rank a non-finite load last; 0 would rank it first
  return std::max(0.0, q);
}

WorkerChooser::WorkerChooser(const Config& config, std::unique_ptr<BalancePolicy> policy) : config_(config), policy_(std::move(policy)) {}

std::vector<double> WorkerChooser::Estimates(const DirectorySnapshot& snap, const SharedDirectory& directory,
                                             const std::string& cls) const {
  const auto& workers = snap.WorkersOf(cls);
  std::vector<double> out(workers.size());
  if (!config_.stub.delta_estimator) {
    for (size_t i = 0; i < workers.size(); ++i) out[i] = workers[i]->load();
    return out;
  }
  std::vector<DispatchCounts> counts;
  directory.CountsOf(workers, counts);
  double answered = 0;
  for (auto& c : counts) answered += static_cast<double>(c.answered);
  double mean_answered = workers.empty() ? 0 : answered / static_cast<double>(workers.size());
  int frontends = std::max(1, snap.beacon.frontends_size());
  for (size_t i = 0; i < workers.size(); ++i)
    out[i] = EstimateQueue(counts[i].observed_load.value_or(workers[i]->load()), counts[i], mean_answered, frontends);
  return out;
}

const wire::WorkerInfo* WorkerChooser::Choose(const DirectorySnapshot& snap, const SharedDirectory& directory, const std::string& cls,
                                              std::span<const std::string> tried, Clock::time_point now) {
  const auto& workers = snap.WorkersOf(cls);
  std::vector<double> estimates = Estimates(snap, directory, cls);
  auto untried = [&](const wire::WorkerInfo* w) { return std::find(tried.begin(), tried.end(), w->id()) == tried.end(); };
  candidates_.clear();
  loads_.clear();
  for (size_t i = 0; i < workers.size(); ++i)
    if (untried(workers[i]) && !IsSuspect(workers[i]->id(), now)) {
      candidates_.push_back(workers[i]);
      loads_.push_back(estimates[i]);
    }
  if (candidates_.empty()) {
    // Everyone was tried or is suspect: let suspects have another go rather than fail.
    for (size_t i = 0; i < workers.size(); ++i)
      if (untried(workers[i])) {
        candidates_.push_back(workers[i]);
        loads_.push_back(estimates[i]);
      }
  }
  if (candidates_.empty()) return nullptr;
  return candidates_[policy_->Pick(loads_)];
}

void WorkerChooser::MarkSuspect(const std::string& worker_id, Clock::time_point now) {
  std::erase_if(suspect_until_, [&](const auto& entry) { return entry.second <= now; });  // keeps the map to live suspects
  suspect_until_[worker_id] = now + Millis(2 * static_cast<int64_t>(config_.beacon.interval_ms));
}

bool WorkerChooser::IsSuspect(const std::string& worker_id, Clock::time_point now) const {
  auto it = suspect_until_.find(worker_id);
  return it != suspect_until_.end() && now < it->second;
}

ManagerStub::ManagerStub(asio::io_context& ctx, const Config& config, SharedDirectory& directory, SpawnRequester request_spawn,
                         uint64_t seed, wire::ClusterAuthPtr auth)
    : ctx_(ctx),
      config_(config),
      directory_(directory),
      request_spawn_(std::move(request_spawn)),
      chooser_(config, MakeBalancePolicy(config.stub.balance_policy, seed)),
      auth_(std::move(auth)),
      alive_(std::make_shared<bool>(true)) {}

ManagerStub::~ManagerStub() { Stop(); }

void ManagerStub::Stop() {
  *alive_ = false;
  auto conns = std::move(conns_);
  for (auto& [id, c] : conns) c->Close(Status::Cancelled("front end stopping"));
}

asio::awaitable<std::shared_ptr<const DirectorySnapshot>> ManagerStub::WaitForWorker(const std::string& cls, Clock::time_point until,
                                                                                     std::vector<std::string> exclude) {
  auto alive = alive_;
  auto usable = [&](const DirectorySnapshot& snap) {
    for (auto* w : snap.WorkersOf(cls))
      if (std::find(exclude.begin(), exclude.end(), w->id()) == exclude.end()) return true;
    return false;
  };
  Counters().spawn_waits.Inc();
  request_spawn_(cls);
  asio::steady_timer timer(ctx_);
  auto last_ask = Clock::now();
  while (*alive && Clock::now() < until) {
    timer.expires_after(Millis(10));
    co_await timer.async_wait(kUseTuple);
    auto snap = directory_.Get();
    if (snap && usable(*snap)) co_return snap;
    if (Clock::now() - last_ask > Millis(config_.beacon.interval_ms * 2)) {  // the manager may have restarted
      request_spawn_(cls);
      last_ask = Clock::now();
    }
  }
  co_return nullptr;
}

asio::awaitable<Result<wire::Connection::Ptr>> ManagerStub::ConnectionTo(const wire::WorkerInfo& w) {
  auto it = conns_.find(w.id());
  if (it != conns_.end() && it->second->is_open()) co_return it->second;
  auto opts = wire::ClusterConnectionOptions(config_, auth_, "worker " + w.id());
  auto alive = alive_;
  auto conn = co_await wire::Connect(w.address(), opts, Millis(config_.stub.connect_timeout_ms));
  if (!*alive) co_return Status::Cancelled("front end stopping");
  if (!conn.ok()) co_return conn.status();
  // Another coroutine may have connected meanwhile: use the first, drop ours.
  it = conns_.find(w.id());
  if (it != conns_.end() && it->second->is_open()) {
    (*conn)->Close(Status::Cancelled("duplicate"));
    co_return it->second;
  }
  auto c = *conn;
  std::string id = w.id();
  c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {},
           [this, alive, id](const wire::Connection::Ptr& closed, const Status&) {
             if (!*alive) return;
             auto f = conns_.find(id);
             if (f != conns_.end() && f->second == closed) conns_.erase(f);
           });
  conns_[id] = c;
  co_return c;
}

namespace {
// The task message for `input` (moved in).
wire::Envelope TaskEnvelope(const std::string& cls, TaskInput& input, double cost_hint) {
  wire::Envelope env;
  auto* t = env.mutable_task();
  t->set_worker_class(cls);
  t->set_input(std::move(input.data));
  t->set_mime_type(std::move(input.mime_type));
  t->mutable_args()->insert(input.args.begin(), input.args.end());
  t->mutable_profile()->insert(input.profile.begin(), input.profile.end());
  t->set_cost_hint(cost_hint);
  t->set_handed_off(input.handed_off);
  return env;
}

// At most this many injected results are taken from one answer (the rest are dropped):
// a worker is a cluster peer, but what it sends is bounded like any peer's.
constexpr int kMaxInjections = 16;

TaskOutput OutputOf(wire::Envelope& reply) {
  auto& r = *reply.mutable_task_result();
  TaskOutput out;
  out.data = std::move(*r.mutable_output());
  out.mime_type = r.mime_type();
  out.meta.insert(r.meta().begin(), r.meta().end());
  for (int i = 0; i < r.injections_size() && i < kMaxInjections; ++i) {
    auto& inj = *r.mutable_injections(i);
    CacheInjection c;
    c.args.insert(inj.args().begin(), inj.args().end());
    c.mime_type = inj.mime_type();
    c.data = std::move(*inj.mutable_data());
    out.injections.push_back(std::move(c));
  }
  return out;
}
}  // namespace

asio::awaitable<Result<TaskOutput>> ManagerStub::Dispatch(const std::string& cls, TaskInput input, Clock::time_point deadline,
                                                          DispatchInfo* info) {
  auto alive = alive_;
  const ClassConfig* cc = config_.FindClass(cls);
  if (!cc) co_return Status::NotFound("unknown worker class '" + cls + "'");
  Counters().tasks.Inc();

  wire::Envelope env = TaskEnvelope(cls, input, cc->cost_hint);

  std::vector<std::string> tried;
  Status last = Status::Unavailable("no worker of class '" + cls + "'");
  for (int attempt = 0; attempt <= config_.stub.max_retries; ++attempt) {
    auto now = Clock::now();
    if (now >= deadline) {
      last = Status::Timeout("request deadline passed");
      break;
    }
    auto snap = directory_.Get();
    if (!snap || snap->WorkersOf(cls).empty()) {
      snap = co_await WaitForWorker(cls, std::min(deadline, Clock::now() + Millis(config_.stub.spawn_wait_ms)), {});
      if (!*alive) co_return Status::Cancelled("front end stopping");
      if (!snap) {
        Counters().no_worker.Inc();
        last = Status::Unavailable("no worker of class '" + cls + "' became available within stub.spawn_wait_ms");
        break;
      }
    }
    const wire::WorkerInfo* chosen = chooser_.Choose(*snap, directory_, cls, tried, Clock::now());
    if (!chosen && attempt > 0 && (last.kind() == ErrorKind::kUnavailable || last.kind() == ErrorKind::kCrashed)) {
      // Every worker was tried and the last one died: the class's replacement (a crash
      // restart, or an on-demand spawn) is "another worker" too. Wait for it.
      auto fresh = co_await WaitForWorker(cls, std::min(deadline, Clock::now() + Millis(config_.stub.spawn_wait_ms)), tried);
      if (!*alive) co_return Status::Cancelled("front end stopping");
      if (fresh) {
        snap = fresh;  // keeps the chosen worker's snapshot alive
        chosen = chooser_.Choose(*snap, directory_, cls, tried, Clock::now());
      }
    }
    if (!chosen) break;
    const wire::WorkerInfo& w = *chosen;
    std::string wid = w.id();
    tried.push_back(wid);
    if (attempt > 0) Counters().retries.Inc();
    if (info) info->attempts = attempt + 1;
    auto conn = co_await ConnectionTo(w);
    if (!*alive) co_return Status::Cancelled("front end stopping");
    if (!conn.ok()) {
      last = conn.status();
      chooser_.MarkSuspect(wid, Clock::now());
      continue;
    }
    auto timeout = std::min<Clock::duration>(Millis(config_.stub.task_timeout_ms), deadline - Clock::now());
    directory_.RecordSent(wid);
    auto reply = co_await (*conn)->Call(env, std::chrono::duration_cast<Millis>(timeout));
    if (!*alive) co_return Status::Cancelled("front end stopping");
    // Answered: one fewer in that queue. If a newer beacon came meanwhile, the answer
    // counts against it, which is right: the queue shrank since that beacon. An answer
    // that announces the worker's load replaces the estimate's starting point.
    std::optional<double> announced;
    if (reply.ok() && reply->task_result().has_load()) announced = reply->task_result().load();
    directory_.RecordAnswered(wid, announced, Clock::now());
    if (reply.ok()) {
      if (info) info->worker = wid;
      co_return OutputOf(*reply);
    }
    last = reply.status();
    if (!Retriable(last)) co_return last;
    if (last.kind() == ErrorKind::kUnavailable || last.kind() == ErrorKind::kTimeout) chooser_.MarkSuspect(wid, Clock::now());
    spdlog::debug("task for {} failed on {}: {}", cls, wid, last.ToString());
  }
  Counters().failures.Inc();
  co_return last;
}

std::optional<double> ManagerStub::ClassLoad(const std::string& worker_class) const {
  auto snap = directory_.Get();
  if (!snap) return std::nullopt;
  for (const auto& c : snap->beacon.classes())
    if (c.name() == worker_class && c.workers() > 0) return c.mean_load();
  return std::nullopt;
}

std::vector<std::string> ManagerStub::WorkersOf(const std::string& worker_class) const {
  std::vector<std::string> ids;
  auto snap = directory_.Get();
  if (!snap) return ids;
  for (const auto* w : snap->WorkersOf(worker_class)) ids.push_back(w->id());
  return ids;
}

asio::awaitable<Result<TaskOutput>> ManagerStub::DispatchTo(const std::string& cls, const std::string& worker_id, TaskInput input,
                                                            Clock::time_point deadline) {
  auto alive = alive_;
  auto snap = directory_.Get();
  const wire::WorkerInfo* w = nullptr;
  if (snap)
    for (const auto* x : snap->WorkersOf(cls))
      if (x->id() == worker_id) w = x;
  if (!w) co_return Status::Unavailable("worker " + worker_id + " of class '" + cls + "' is not in the directory");
  const ClassConfig* cc = config_.FindClass(cls);
  wire::Envelope env = TaskEnvelope(cls, input, cc ? cc->cost_hint : 1.0);
  auto conn = co_await ConnectionTo(*w);
  if (!*alive) co_return Status::Cancelled("front end stopping");
  if (!conn.ok()) co_return conn.status();
  auto timeout = std::min<Clock::duration>(Millis(config_.stub.task_timeout_ms), deadline - Clock::now());
  if (timeout <= Clock::duration::zero()) co_return Status::Timeout("request deadline passed");
  directory_.RecordSent(worker_id);
  auto reply = co_await (*conn)->Call(env, std::chrono::duration_cast<Millis>(timeout));
  if (!*alive) co_return Status::Cancelled("front end stopping");
  std::optional<double> announced;
  if (reply.ok() && reply->task_result().has_load()) announced = reply->task_result().load();
  directory_.RecordAnswered(worker_id, announced, Clock::now());
  if (!reply.ok()) co_return reply.status();
  co_return OutputOf(*reply);
}

}  // namespace tacc::sns
