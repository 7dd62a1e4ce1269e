#include "sns/manager.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "common/metrics.h"
#include "wire/cluster_options.h"

namespace tacc::sns {

namespace asio = boost::asio;
using asio::ip::tcp;
using Millis = std::chrono::milliseconds;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct ManagerCounters {
  Counter& spawns = Metrics().counter("tacc_manager_spawns_total", "Workers launched (on demand, by policy, restarts)");
  Counter& restarts = Metrics().counter("tacc_manager_worker_restarts_total", "Crashed workers restarted");
  Counter& crashes = Metrics().counter("tacc_manager_worker_crashes_total", "Workers lost without deregistering, or failed starts");
  Counter& reaps = Metrics().counter("tacc_manager_reaps_total", "Idle workers reaped");
  Counter& suspended = Metrics().counter("tacc_manager_restarts_suspended_total", "Times a class's restarts were suspended for crashing too often");
  Counter& frontend_restarts = Metrics().counter("tacc_manager_frontend_restarts_total", "Front ends (re)launched");
  Counter& reports = Metrics().counter("tacc_manager_load_reports_total", "Load reports received");
  Counter& bad_messages = Metrics().counter("tacc_manager_bad_messages_total", "Messages that made no sense from that peer");
  Counter& refused = Metrics().counter("tacc_manager_connections_refused_total", "Connections closed at once: manager.max_connections or wire.max_pending_handshakes reached");
};
ManagerCounters& Counters() {
  static ManagerCounters c;
  return c;
}

uint64_t NewEpoch() {
  // Strictly increasing across restarts on one host (wall clock), unique across hosts.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return static_cast<uint64_t>(ns);
}


}  // namespace

Manager::ClassState::ClassState(const Config& c)
    : backoff(Millis(c.manager.restart_backoff_min_ms), Millis(c.manager.restart_backoff_max_ms),
              std::chrono::seconds(c.manager.restart_window_s), c.manager.restart_max) {}

Manager::Manager(asio::io_context& ctx, Config config, ConfigArgs args, std::unique_ptr<Launcher> launcher)
    : ctx_(ctx),
      config_(std::move(config)),
      args_(std::move(args)),
      launcher_(std::move(launcher)),
      policy_(MakeSpawnPolicy(config_)),
      epoch_(NewEpoch()),
      acceptor_(ctx),
      alive_(std::make_shared<bool>(true)) {
  launcher_->SetExitHandler([this](pid_t pid, const std::string& how) { OnProcessExit(pid, how); });
}

Manager::~Manager() { *alive_ = false; }

uint16_t Manager::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

Status Manager::Start(bool fresh) {
  fresh_ = fresh;
  auto auth = wire::LoadClusterAuth(config_);
  if (!auth.ok()) return auth.status();
  auth_ = *auth;
  auto lock = FileLock::Acquire(config_.RunDir() + "/manager.lock");
  if (!lock.ok()) return Status::Unavailable("another manager of cluster '" + config_.cluster.name + "' runs on this host (" + lock.status().message() + ")");
  lock_.emplace(std::move(*lock));

  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config_.cluster.host, ec);
  if (ec) return Status::InvalidArgument("setting 'cluster.host': '" + config_.cluster.host + "' is not an IP address");
  acceptor_.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor_.bind(tcp::endpoint(addr, static_cast<uint16_t>(config_.manager.port)), ec);
  if (ec) return Status::Unavailable(fmt::format("manager cannot listen on {}:{}: {}", config_.cluster.host, config_.manager.port, ec.message()));
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen: " + ec.message());

  beacons_ = std::make_unique<BeaconSender>(ctx_, config_, auth_->key, [this](wire::BeaconPacker& entries) { return BuildBeacon(entries); });
  if (Status s = beacons_->Open(); !s.ok()) return s;
  // Hearing another manager's beacons means two managers: the younger one leaves. In
  // unicast mode it hears them by subscribing at the other seeds.
  BeaconListener::Options watch;
  watch.header_only = true;
  watch.skip_seeds.push_back(config_.cluster.host + ":" + std::to_string(config_.beacon.port));
  auto l = BeaconListener::Open(ctx_, config_, auth_->key, [this](const wire::Beacon& b) { OnForeignBeacon(b); }, watch);
  if (!l.ok()) {
    if (l.status().kind() == ErrorKind::kInvalidArgument) return l.status();
    spdlog::warn("cannot watch for a second manager: {}", l.status().ToString());
  } else if (config_.beacon.mode == "multicast" || (*l)->seed_count() > 0) {
    foreign_listener_ = std::move(*l);
    foreign_listener_->Start();
  }

  started_ = Clock::now();
  running_ = true;
  if (config_.manager.manage_frontends) {
    for (int i = 0; i < config_.frontend.count; ++i) {
      auto& slot = frontend_slots_[static_cast<uint32_t>(i)];
      slot.port = config_.frontend.port == 0 ? 0 : config_.frontend.port + i;
      slot.backoff = std::make_unique<RestartBackoff>(Millis(config_.manager.restart_backoff_min_ms), Millis(config_.manager.restart_backoff_max_ms),
                                                      std::chrono::seconds(config_.manager.restart_window_s), config_.manager.restart_max);
    }
  }
  spdlog::info("manager up: epoch {} listening on {}:{}, beacons {} every {} ms", epoch_, config_.cluster.host, port(),
               config_.beacon.mode == "multicast" ? fmt::format("to {}:{}", config_.beacon.group, config_.beacon.port)
                                                   : fmt::format("to subscribers of {}:{}", config_.cluster.host, config_.beacon.port),
               config_.beacon.interval_ms);
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  beacons_->Start();
  asio::co_spawn(ctx_, PolicyLoop(), asio::detached);
  return Status::Ok();
}

void Manager::Stop(bool stop_children) {
  if (!running_) return;
  running_ = false;
  *alive_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  if (beacons_) beacons_->Stop();
  if (foreign_listener_) foreign_listener_->Stop();
  if (stop_children) {  // only what our launcher started: never a pid a peer told us
    for (auto& [id, w] : workers_)
      if (w.launched_pid > 0) launcher_->Kill(w.launched_pid, SIGTERM);
    for (auto& [tok, p] : pending_)
      if (p.pid > 0) launcher_->Kill(p.pid, SIGTERM);
    for (auto& [i, s] : frontend_slots_)
      if (s.child > 0) launcher_->Kill(s.child, SIGTERM);
  }
  auto conns = connections_;
  for (auto& c : conns) c->Close(Status::Cancelled("manager stopping"));
}

// ---------------------------------------------------------------- connections

asio::awaitable<void> Manager::AcceptLoop() {
  auto alive = alive_;
  while (*alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (!*alive) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    boost::system::error_code rec;
    auto remote = socket.remote_endpoint(rec);
    std::string name = fmt::format("peer {}:{}", remote.address().to_string(), remote.port());
    if (static_cast<int>(connections_.size()) + handshakes_ >= config_.manager.max_connections ||
        handshakes_ >= config_.wire.max_pending_handshakes) {
      Counters().refused.Inc();
      spdlog::debug("refusing {}: {} connections, {} handshakes in progress", name, connections_.size(), handshakes_);
      socket.close(rec);
      continue;
    }
    asio::co_spawn(ctx_, AcceptOne(std::move(socket), std::move(name)), asio::detached);
  }
}

asio::awaitable<void> Manager::AcceptOne(tcp::socket socket, std::string name) {
  auto alive = alive_;
  auto opts = wire::ClusterConnectionOptions(config_, auth_, std::move(name));
  // Until it registers, a peer may send only small messages.
  opts.max_frame_bytes = std::min(config_.wire.max_frame_bytes, config_.wire.max_unregistered_frame_bytes);
  ++handshakes_;
  auto conn = co_await wire::Accept(std::move(socket), opts);
  --handshakes_;
  if (!*alive || !conn.ok()) co_return;
  auto c = *conn;
  connections_.push_back(c);
  c->Start([this, alive](const wire::Connection::Ptr& cc, wire::Envelope&& env) { if (*alive) OnMessage(cc, std::move(env)); },
           [this, alive](const wire::Connection::Ptr& cc, const Status& why) { if (*alive) OnClose(cc, why); });
}

void Manager::OnMessage(const wire::Connection::Ptr& conn, wire::Envelope&& env) {
  switch (env.body_case()) {
    case wire::Envelope::kRegisterWorker: OnRegisterWorker(conn, env); return;
    case wire::Envelope::kRegisterFrontend: OnRegisterFrontend(conn, env); return;
    case wire::Envelope::kLoadReport: OnLoadReport(conn, env.load_report()); return;
    case wire::Envelope::kFrontendReport: return;  // liveness; the idle timer was reset by the read
    case wire::Envelope::kSpawnRequest: OnSpawnRequest(env.spawn_request().worker_class()); return;
    case wire::Envelope::kManagerProbe: {  // another manager checking that we are alive
      wire::Envelope ack;
      ack.mutable_register_ack()->set_epoch(epoch_);
      conn->Reply(env, std::move(ack));
      return;
    }
    case wire::Envelope::kDeregister: {
      if (auto it = worker_by_conn_.find(conn.get()); it != worker_by_conn_.end()) it->second->leaving = true;
      // A front end stopping on purpose: start its successor now (it takes over the
      // listening sockets) and answer whether one comes.
      if (auto f = frontend_by_conn_.find(conn.get()); f != frontend_by_conn_.end() && env.id() != 0) {
        auto rec = frontends_.find(f->second);
        if (rec != frontends_.end() && rec->second.conn == conn && frontend_slots_.contains(f->second)) {
          rec->second.leaving = true;
          spdlog::info("front end {} (pid {}) is stopping on purpose; starting its successor", f->second, rec->second.pid);
          wire::Envelope yes;
          yes.mutable_deregister();
          conn->Reply(env, std::move(yes));
          ManageFrontends(Clock::now());
        } else {
          conn->ReplyError(env, Status::NotFound("this manager does not restart front end " + std::to_string(f->second)));
        }
      }
      return;
    }
    default:
      Counters().bad_messages.Inc();
      spdlog::warn("{} sent an unexpected {} message; closing", conn->name(), env.GetDescriptor()->FindFieldByNumber(static_cast<int>(env.body_case()))->name());
      if (env.id() != 0 && !env.is_reply()) conn->ReplyError(env, Status::InvalidArgument("the manager does not take this message"));
      conn->Close(Status::Protocol("unexpected message"));
  }
}

void Manager::OnRegisterWorker(const wire::Connection::Ptr& conn, const wire::Envelope& env) {
  const auto& r = env.register_worker();
  if (r.id().empty() || r.worker_class().empty() || r.address().port() == 0) {
    Counters().bad_messages.Inc();
    conn->ReplyError(env, Status::InvalidArgument("registration lacks id, class or address"));
    conn->Close(Status::Protocol("bad registration"));
    return;
  }
  if (!config_.FindClass(r.worker_class())) {
    conn->ReplyError(env, Status::NotFound("unknown worker class '" + r.worker_class() + "'"));
    return;
  }
  if (worker_by_conn_.contains(conn.get()) || frontend_by_conn_.contains(conn.get())) {
    // One connection is one worker: a second registration would let one peer speak for
    // (and be counted as) many.
    Counters().bad_messages.Inc();
    spdlog::warn("{} registered a second time on one connection; closing", conn->name());
    conn->ReplyError(env, Status::InvalidArgument("this connection has already registered"));
    conn->CloseAfterWrite(Status::Protocol("second registration on one connection"));
    return;
  }
  if (auto old = workers_.find(r.id()); old != workers_.end() && old->second.conn != conn) {
    // Same worker reconnecting: the old connection is stale.
    worker_by_conn_.erase(old->second.conn.get());
    old->second.leaving = true;
    old->second.conn->Close(Status::Cancelled("superseded by a new registration"));
    workers_.erase(r.id());
  }
  pid_t launched = 0;
  if (auto p = pending_.find(r.spawn_token()); !r.spawn_token().empty() && p != pending_.end()) {
    launched = p->second.pid;
    pending_.erase(p);
  }
  auto& w = workers_[r.id()];
  w.launched_pid = launched;
  w.id = r.id();
  w.cls = r.worker_class();
  w.host = r.host();
  w.address = r.address();
  w.pid = static_cast<pid_t>(r.pid());
  w.conn = conn;
  w.last_busy = Clock::now();
  worker_by_conn_[conn.get()] = &w;
  conn->set_max_frame_bytes(config_.wire.max_frame_bytes);
  conn->set_name("worker " + r.id());
  wire::Envelope ack;
  ack.mutable_register_ack()->set_epoch(epoch_);
  conn->Reply(env, std::move(ack));
  spdlog::info("worker {} registered (pid {})", r.id(), r.pid());
  // Announce soon (coalesced) so on-demand spawns are usable without waiting a period.
  SendBeacon();
}

void Manager::OnRegisterFrontend(const wire::Connection::Ptr& conn, const wire::Envelope& env) {
  const auto& r = env.register_frontend();
  if (worker_by_conn_.contains(conn.get()) || (frontend_by_conn_.contains(conn.get()) && frontend_by_conn_[conn.get()] != r.index())) {
    Counters().bad_messages.Inc();
    spdlog::warn("{} registered as a second peer on one connection; closing", conn->name());
    conn->ReplyError(env, Status::InvalidArgument("this connection has already registered"));
    conn->CloseAfterWrite(Status::Protocol("second registration on one connection"));
    return;
  }
  auto& f = frontends_[r.index()];
  if (f.conn && f.conn != conn) {
    frontend_by_conn_.erase(f.conn.get());
    f.conn->Close(Status::Cancelled("superseded by a new registration"));
  }
  f.index = r.index();
  f.http = r.http();
  f.admin = r.admin();
  f.leaving = false;
  f.pid = static_cast<pid_t>(r.pid());
  f.conn = conn;
  frontend_by_conn_[conn.get()] = r.index();
  conn->set_name(fmt::format("frontend {}", r.index()));
  conn->set_max_frame_bytes(config_.wire.max_frame_bytes);
  if (auto s = frontend_slots_.find(r.index()); s != frontend_slots_.end()) {
    s->second.launched_pid = 0;
    if (s->second.port == 0) s->second.port = static_cast<int>(r.http().port());
  }
  wire::Envelope ack;
  ack.mutable_register_ack()->set_epoch(epoch_);
  conn->Reply(env, std::move(ack));
  spdlog::info("front end {} registered: http {}:{} (pid {})", r.index(), r.http().host(), r.http().port(), r.pid());
}

void Manager::OnLoadReport(const wire::Connection::Ptr& conn, const wire::LoadReport& report) {
  ++reports_;
  Counters().reports.Inc();
  auto it = worker_by_conn_.find(conn.get());
  if (it == worker_by_conn_.end()) return;  // report before registration: ignore
  auto& w = *it->second;
  if (!std::isfinite(report.weighted_load()) || report.weighted_load() < 0) {
    Counters().bad_messages.Inc();
    spdlog::warn("{} reported a load of {}; ignored", conn->name(), report.weighted_load());
    return;
  }
  double a = config_.manager.load_smoothing;
  w.load = a * report.weighted_load() + (1 - a) * w.load;
  if (report.queue_length() > 0 || report.completed() != w.completed) w.last_busy = Clock::now();
  w.queue = report.queue_length();
  w.completed = report.completed();
}

bool Manager::Adopting(Clock::time_point now) const {
  return !fresh_ && now - started_ < Millis(config_.manager.adopt_grace_ms);
}

void Manager::OnSpawnRequest(const std::string& cls) {
  const ClassConfig* cc = config_.FindClass(cls);
  if (!cc || Adopting(Clock::now())) return;
  int live = 0;
  for (auto& [id, w] : workers_)
    if (w.cls == cls && !w.draining) ++live;
  if (live + PendingCount(cls) > 0) return;
  SpawnWorker(cls, "on demand: a front end has a task and no worker");
}

void Manager::OnClose(const wire::Connection::Ptr& conn, const Status& why) {
  std::erase(connections_, conn);
  if (auto it = worker_by_conn_.find(conn.get()); it != worker_by_conn_.end()) {
    std::string id = it->second->id;
    worker_by_conn_.erase(it);
    OnWorkerLost(id, why.ToString());
  }
  if (auto it = frontend_by_conn_.find(conn.get()); it != frontend_by_conn_.end()) {
    uint32_t index = it->second;
    frontend_by_conn_.erase(it);
    auto f = frontends_.find(index);
    if (f != frontends_.end() && f->second.conn == conn) {
      spdlog::warn("front end {} lost: {}", index, why.ToString());
      f->second.conn.reset();
      f->second.lost_at = Clock::now();
    }
  }
}

void Manager::OnWorkerLost(const std::string& id, const std::string& why) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  WorkerRecord w = std::move(it->second);
  workers_.erase(it);
  // A worker that went silent but whose process is still there is hung: make sure it
  // is gone before its replacement comes (it may hold memory, or wake up and confuse).
  if (w.launched_pid > 0 && launcher_->Alive(w.launched_pid)) launcher_->Kill(w.launched_pid, SIGKILL);
  if (w.leaving || w.draining) {
    spdlog::info("worker {} left", id);
  } else {
    RecordCrash(w.cls, fmt::format("worker {} (pid {}) lost: {}", id, w.pid, why));
  }
  SendBeacon();  // tell the front ends at once
}

void Manager::OnProcessExit(pid_t pid, const std::string& how) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->second.pid == pid) {
      std::string cls = it->second.cls;
      pending_.erase(it);
      RecordCrash(cls, fmt::format("worker of class {} (pid {}) {} before registering", cls, pid, how));
      return;
    }
  }
  for (auto& [id, w] : workers_)
    if (w.launched_pid == pid && !w.leaving && !w.draining) spdlog::warn("worker {} (pid {}) {}", id, pid, how);
  for (auto& [i, f] : frontends_)
    if (f.pid == pid) spdlog::warn("front end {} (pid {}) {}", i, pid, how);
  for (auto& [i, s] : frontend_slots_)
    if (s.child == pid) s.child = 0;
  for (auto& [i, s] : frontend_slots_)
    if (s.launched_pid == pid) {
      spdlog::warn("front end {} (pid {}) {} before registering", i, pid, how);
      s.launched_pid = 0;
      s.backoff->RecordCrash(Clock::now());
      s.next_try = Clock::now() + s.backoff->Delay(Clock::now());
    }
}

void Manager::OnForeignBeacon(const wire::Beacon& b) {
  // A younger manager steps down by itself when it hears us; an older one may have the
  // cluster. The beacon is authentic and fresh but may be a replay naming a manager
  // that is gone, so ask that manager over TCP before leaving.
  if (b.epoch() >= epoch_ || !running_ || probing_) return;
  if (Clock::now() - last_probe_ < Millis(config_.beacon.interval_ms)) return;
  probing_ = true;
  last_probe_ = Clock::now();
  asio::co_spawn(ctx_, ConfirmOlderManager(b.manager(), b.epoch()), asio::detached);
}

asio::awaitable<void> Manager::ConfirmOlderManager(wire::Endpoint at, uint64_t epoch) {
  static Counter& unconfirmed = Metrics().counter("tacc_manager_unconfirmed_rivals_total",
                                                  "Beacons of an older manager that did not answer over TCP as that epoch (replayed, or gone)");
  auto alive = alive_;
  auto opts = wire::ClusterConnectionOptions(config_, auth_, fmt::format("manager epoch {}", epoch));
  auto timeout = Millis(config_.stub.connect_timeout_ms);
  auto conn = co_await wire::Connect(at, opts, timeout);
  if (!*alive) co_return;
  Result<wire::Envelope> reply = Status::Unavailable("not asked");
  if (!conn.ok()) {
    reply = conn.status();
  } else {
    (*conn)->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {}, [](const wire::Connection::Ptr&, const Status&) {});
    wire::Envelope probe;
    probe.mutable_manager_probe();
    reply = co_await (*conn)->Call(std::move(probe), Millis(config_.manager.peer_timeout_ms));
    (*conn)->Close(Status::Cancelled("probe done"));
  }
  if (!*alive) co_return;
  probing_ = false;
  if (!running_) co_return;
  if (reply.ok() && reply->has_register_ack() && reply->register_ack().epoch() == epoch) {
    spdlog::error("another manager (epoch {} at {}:{}) is active for cluster '{}'; this younger one (epoch {}) steps down", epoch, at.host(), at.port(),
                  config_.cluster.name, epoch_);
    Stop(false);
    ctx_.stop();
    co_return;
  }
  unconfirmed.Inc();
  spdlog::warn("a beacon names an older manager (epoch {} at {}:{}) that does not answer as that epoch ({}); staying", epoch, at.host(), at.port(),
               reply.ok() ? fmt::format("it is epoch {}", reply->register_ack().epoch()) : reply.status().ToString());
}

// ---------------------------------------------------------------- crashes and restarts

void Manager::RecordCrash(const std::string& cls, const std::string& what) {
  auto now = Clock::now();
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

Manager::ClassState& Manager::StateOf(const std::string& cls) {
  auto it = classes_.find(cls);
  if (it == classes_.end()) it = classes_.emplace(cls, ClassState(config_)).first;
  return it->second;
}

int Manager::PendingCount(const std::string& cls) const {
  int n = 0;
  for (auto& [tok, p] : pending_)
    if (p.cls == cls) ++n;
  if (auto it = classes_.find(cls); it != classes_.end()) n += static_cast<int>(it->second.restarts_due.size());
  return n;
}

int Manager::LaunchesAndLive(const std::string& cls) const {
  int n = 0;
  for (auto& [id, w] : workers_)
    if (w.cls == cls && !w.draining) ++n;
  for (auto& [tok, p] : pending_)
    if (p.cls == cls) ++n;
  return n;
}

bool Manager::SpawnWorker(const std::string& cls, const std::string& reason) {
  auto now = Clock::now();
  auto& st = StateOf(cls);
  if (st.backoff.Suspended(now)) return false;
  // Restarts, policy spawns and on-demand spawns all pass here: together they never
  // exceed the class's maximum.
  const ClassConfig* cc = config_.FindClass(cls);
  if (cc && LaunchesAndLive(cls) >= cc->max_workers) {
    spdlog::debug("not spawning a worker of class {} ({}): {} live or starting, max_workers {}", cls, reason, LaunchesAndLive(cls), cc->max_workers);
    return false;
  }
  std::string token = fmt::format("{}-{}", epoch_, next_token_++);
  std::vector<std::string> argv = {"worker", "--class", cls, "--spawn-token", token, "--manager",
                                   fmt::format("{}:{}", config_.cluster.host, port())};
  auto extra = args_.ToArgv();
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto pid = launcher_->Launch(argv);
  st.last_spawn = now;
  if (!pid.ok()) {
    spdlog::error("cannot launch worker of class {}: {}", cls, pid.status().ToString());
    RecordCrash(cls, "launch failed");
    return false;
  }
  pending_[token] = PendingSpawn{cls, *pid, now + Millis(config_.manager.spawn_timeout_ms)};
  Counters().spawns.Inc();
  spdlog::info("spawned worker of class {} (pid {}): {}", cls, *pid, reason);
  return true;
}

void Manager::ReapWorker(const std::string& id, const std::string& reason) {
  auto it = workers_.find(id);
  if (it == workers_.end() || it->second.draining) return;
  it->second.draining = true;
  wire::Envelope env;
  env.mutable_drain();
  it->second.conn->Send(std::move(env));
  Counters().reaps.Inc();
  spdlog::info("reaping worker {}: {}", id, reason);
}

// ---------------------------------------------------------------- policy

asio::awaitable<void> Manager::PolicyLoop() {
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  while (*alive) {
    RunPolicy();
    timer.expires_after(Millis(config_.manager.policy_interval_ms));
    co_await timer.async_wait(kUseTuple);
  }
}

void Manager::RunPolicy() {
  auto now = Clock::now();
  // Launched workers that never registered are failed starts.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline) {
      auto p = it->second;
      it = pending_.erase(it);
      if (p.pid > 0) launcher_->Kill(p.pid, SIGKILL);
      RecordCrash(p.cls, fmt::format("worker of class {} (pid {}) did not register within {} ms", p.cls, p.pid, config_.manager.spawn_timeout_ms));
    } else {
      ++it;
    }
  }
  if (Adopting(now)) return;  // running workers are still re-registering
  for (auto& [name, cc] : config_.classes) RunClassPolicy(cc, now);
  if (config_.manager.manage_frontends) ManageFrontends(now);
}

void Manager::RunClassPolicy(const ClassConfig& cc, Clock::time_point now) {
  auto& st = StateOf(cc.name);
  if (!st.backoff.Suspended(now)) st.suspended_reported = false;
  // Due crash restarts first.
  for (auto it = st.restarts_due.begin(); it != st.restarts_due.end();) {
    if (*it <= now) {
      it = st.restarts_due.erase(it);
      if (SpawnWorker(cc.name, "restart after crash")) Counters().restarts.Inc();
    } else {
      ++it;
    }
  }
  ClassLoadView v;
  v.config = &cc;
  v.pending = PendingCount(cc.name);
  v.last_spawn = st.last_spawn;
  double total = 0;
  for (auto& [id, w] : workers_) {
    if (w.cls != cc.name || w.draining) continue;
    ++v.live;
    total += w.load;
    v.workers.push_back({id, w.load, now - w.last_busy});
  }
  v.mean_load = v.live ? total / v.live : 0;
  auto d = policy_->Decide(v, now);
  for (int i = 0; i < d.spawn; ++i)
    if (!SpawnWorker(cc.name, d.reason)) break;
  for (auto& id : d.reap) ReapWorker(id, d.reason);
}

void Manager::ManageFrontends(Clock::time_point now) {
  if (Adopting(now)) return;
  for (auto& [index, slot] : frontend_slots_) {
    auto f = frontends_.find(index);
    // Leaving: stopping on purpose; its successor starts while it still serves.
    bool leaving = f != frontends_.end() && f->second.leaving;
    if (f != frontends_.end() && f->second.conn && !leaving) continue;  // healthy
    if (slot.launched_pid > 0 && launcher_->Alive(slot.launched_pid) && now - slot.launched_at < Millis(config_.manager.spawn_timeout_ms)) continue;
    if (!leaving && f != frontends_.end() && f->second.pid > 0 && launcher_->Alive(f->second.pid) &&
        now - f->second.lost_at < Millis(config_.manager.peer_timeout_ms))
      continue;  // alive, probably reconnecting
    if (now < slot.next_try) continue;
    if (slot.backoff->Suspended(now)) continue;
    if (!leaving && slot.child > 0 && launcher_->Alive(slot.child)) launcher_->Kill(slot.child, SIGKILL);  // hung
    std::vector<std::string> argv = {"frontend", "--index", std::to_string(index), "--port", std::to_string(slot.port)};
    auto extra = args_.ToArgv();
    argv.insert(argv.end(), extra.begin(), extra.end());
    bool first = slot.launched_at == Clock::time_point{} && f == frontends_.end();
    auto pid = launcher_->Launch(argv);
    slot.launched_at = now;
    if (!first && !leaving) slot.backoff->RecordCrash(now);  // an orderly stop is no crash
    slot.next_try = now + (first || leaving ? Clock::duration{} : slot.backoff->Delay(now));
    if (!pid.ok()) {
      spdlog::error("cannot launch front end {}: {}", index, pid.status().ToString());
      continue;
    }
    slot.launched_pid = *pid;
    slot.child = *pid;
    Counters().frontend_restarts.Inc();
    spdlog::info("{} front end {} (pid {})", first ? "started" : leaving ? "started the successor of" : "restarted", index, *pid);
    if (f != frontends_.end()) frontends_.erase(f);
  }
}

// ---------------------------------------------------------------- beacons

wire::Beacon Manager::BuildBeacon(wire::BeaconPacker& entries) {
  wire::Beacon b;
  b.set_cluster(config_.cluster.name);
  b.set_epoch(epoch_);
  b.mutable_manager()->set_host(config_.cluster.host);
  b.mutable_manager()->set_port(port());
  b.set_manager_pid(static_cast<uint32_t>(getpid()));
  b.set_load_reports(reports_);
  b.set_adopting(Adopting(Clock::now()));
  // One pass over the workers (10,000 of them, twice a second; walking a std::map that
  // big is mostly cache misses): entries, in id order so that runs of one class and host
  // pack tightly, and the class sums; then class status and front ends.
  struct ClassSum {
    uint32_t n = 0;
    double load = 0;
  };
  std::map<std::string, ClassSum> sums;
  const std::string* last_cls = nullptr;
  ClassSum* sum = nullptr;
  for (auto& [id, w] : workers_) {
    if (w.draining) continue;
    if (!last_cls || *last_cls != w.cls) {  // ids start with the class: runs of one class
      last_cls = &w.cls;
      sum = &sums[w.cls];
    }
    ++sum->n;
    sum->load += w.load;
    entries.AddWorker(id, w.cls, w.address.host(), w.address.port(), static_cast<uint32_t>(w.pid), w.load, w.host);
  }
  auto now = Clock::now();
  for (auto& [name, cc] : config_.classes) {
    wire::ClassStatus cs;
    cs.set_name(name);
    ClassSum cs_sum = sums.contains(name) ? sums[name] : ClassSum{};
    cs.set_workers(cs_sum.n);
    cs.set_mean_load(cs_sum.n ? cs_sum.load / cs_sum.n : 0);
    cs.set_pending_spawns(static_cast<uint32_t>(PendingCount(name)));
    auto& st = StateOf(name);
    cs.set_crashes(st.backoff.total_crashes());
    cs.set_restarts_suspended(st.backoff.Suspended(now));
    entries.AddClass(cs);
  }
  for (auto& [i, f] : frontends_) {
    if (!f.conn) continue;
    wire::FrontendInfo fi;
    fi.set_index(i);
    *fi.mutable_http() = f.http;
    *fi.mutable_admin() = f.admin;
    fi.set_pid(static_cast<uint32_t>(f.pid));
    entries.AddFrontend(fi);
  }
  return b;
}

void Manager::SendBeacon() {
  if (running_ && beacons_) beacons_->SendSoon();
}

}  // namespace tacc::sns
