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

Manager::Manager(asio::io_context& ctx, Config config, ConfigArgs args, std::unique_ptr<Launcher> launcher)
    : ctx_(ctx),
      config_(std::move(config)),
      args_(std::move(args)),
      launcher_(std::move(launcher)),
      policy_(MakeSpawnPolicy(config_)),
      epoch_(NewEpoch()),
      workers_(config_.manager.load_smoothing),
      supervisor_(config_, *launcher_, workers_, *policy_, std::to_string(epoch_)),
      frontends_(config_, *launcher_),
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

  // Load reports come as datagrams to the same address and port (LoadReportReceiver);
  // if that UDP port cannot be had, workers are told to report over TCP instead.
  load_reports_ = std::make_unique<LoadReportReceiver>(ctx_, config_, auth_->key, [this](const wire::LoadAnnouncement& a) {
    ++reports_;
    Counters().reports.Inc();
    const auto& r = a.report();
    return workers_.Announce(a.token(), a.seq(), r.weighted_load(), r.queue_length(), r.completed(), Clock::now());
  });
  if (Status s = load_reports_->Open(config_.cluster.host, port()); !s.ok()) {
    spdlog::warn("load reports will come over TCP: {}", s.ToString());
    load_reports_.reset();
  }

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
  std::vector<std::string> worker_args = {"--manager", fmt::format("{}:{}", config_.cluster.host, port())};
  auto extra = args_.ToArgv();
  worker_args.insert(worker_args.end(), extra.begin(), extra.end());
  supervisor_.set_worker_args(std::move(worker_args));
  if (config_.manager.manage_frontends) frontends_.ManageSlots(extra);
  spdlog::info("manager up: epoch {} listening on {}:{}, beacons {} every {} ms", epoch_, config_.cluster.host, port(),
               config_.beacon.mode == "multicast" ? fmt::format("to {}:{}", config_.beacon.group, config_.beacon.port)
                                                   : fmt::format("to subscribers of {}:{}", config_.cluster.host, config_.beacon.port),
               config_.beacon.interval_ms);
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  if (load_reports_) load_reports_->Start();
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
  if (load_reports_) load_reports_->Stop();
  if (foreign_listener_) foreign_listener_->Stop();
  if (stop_children) {  // only what our launcher started: never a pid a peer told us
    supervisor_.SignalAll(SIGTERM);
    frontends_.SignalAll(SIGTERM);
  }
  auto conns = connections_;
  for (auto& [key, c] : conns) c->Close(Status::Cancelled("manager stopping"));
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
  auto opts = wire::ManagerPeerOptions(config_, auth_, std::move(name));
  // Until it registers, a peer may send only small messages.
  opts.max_frame_bytes = std::min(config_.wire.max_frame_bytes, config_.wire.max_unregistered_frame_bytes);
  ++handshakes_;
  auto conn = co_await wire::Accept(std::move(socket), opts);
  --handshakes_;
  if (!*alive || !conn.ok()) co_return;
  auto c = *conn;
  connections_.emplace(c.get(), c);
  c->Start([this, alive](const wire::Connection::Ptr& cc, wire::Envelope&& env) { if (*alive) OnMessage(cc, std::move(env)); },
           [this, alive](const wire::Connection::Ptr& cc, const Status& why) { if (*alive) OnClose(cc, why); });
}

void Manager::OnMessage(const wire::Connection::Ptr& conn, wire::Envelope&& env) {
  switch (env.body_case()) {
    case wire::Envelope::kRegisterWorker: OnRegisterWorker(conn, env); return;
    case wire::Envelope::kRegisterFrontend: OnRegisterFrontend(conn, env); return;
    case wire::Envelope::kLoadReport: OnLoadReport(conn, env.load_report()); return;
    case wire::Envelope::kFrontendReport:  // liveness (the idle timer was reset by the read) and load
      frontends_.OnReport(conn.get(), env.frontend_report().open_connections());
      return;
    case wire::Envelope::kSpawnRequest: OnSpawnRequest(env.spawn_request().worker_class()); return;
    case wire::Envelope::kManagerProbe: {  // another manager checking that we are alive
      wire::Envelope ack;
      ack.mutable_register_ack()->set_epoch(epoch_);
      conn->Reply(env, std::move(ack));
      return;
    }
    case wire::Envelope::kDeregister: {
      workers_.MarkLeaving(conn.get());
      // A front end stopping on purpose: start its successor now (it takes over the
      // listening sockets) and answer whether one comes.
      if (frontends_.HasConnection(conn.get()) && env.id() != 0) {
        if (Status s = frontends_.BeginOrderlyStop(conn.get()); s.ok()) {
          wire::Envelope yes;
          yes.mutable_deregister();
          conn->Reply(env, std::move(yes));
          auto now = Clock::now();
          frontends_.Tick(now, Adopting(now));
        } else {
          conn->ReplyError(env, s);
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
  pid_t launched = supervisor_.PendingPid(r.spawn_token());
  WorkerDirectory::Registration reg{r.id(), r.worker_class(), r.host(), r.address(), static_cast<pid_t>(r.pid()), launched};
  while (load_reports_ && (reg.report_token == 0 || workers_.HasToken(reg.report_token))) reg.report_token = token_rng_();
  auto superseded = frontends_.HasConnection(conn.get()) ? Result<const void*>(Status::InvalidArgument("this connection has already registered"))
                                                            : workers_.Register(conn.get(), std::move(reg), Clock::now());
  if (!superseded.ok()) {
    // One connection is one worker: a second registration would let one peer speak for
    // (and be counted as) many.
    Counters().bad_messages.Inc();
    spdlog::warn("{} registered a second time on one connection; closing", conn->name());
    conn->ReplyError(env, superseded.status());
    conn->CloseAfterWrite(Status::Protocol("second registration on one connection"));
    return;
  }
  if (launched) supervisor_.Registered(r.spawn_token());
  // Same worker reconnecting: the old connection is stale.
  if (auto* old = ConnOf(*superseded)) old->Close(Status::Cancelled("superseded by a new registration"));
  conn->set_max_frame_bytes(config_.wire.max_frame_bytes);
  conn->set_name("worker " + r.id());
  wire::Envelope ack;
  ack.mutable_register_ack()->set_epoch(epoch_);
  if (reg.report_token) {
    // Its reports come as datagrams now, and its silence is judged by them
    // (CloseSilentWorkers); this connection hears only its heartbeats.
    ack.mutable_register_ack()->set_report_token(reg.report_token);
    conn->set_idle_timeout(3 * Millis(config_.wire.heartbeat_ms));
  }
  conn->Reply(env, std::move(ack));
  spdlog::info("worker {} registered (pid {})", r.id(), r.pid());
  // Announce soon (coalesced) so on-demand spawns are usable without waiting a period.
  SendBeacon();
}

void Manager::OnRegisterFrontend(const wire::Connection::Ptr& conn, const wire::Envelope& env) {
  const auto& r = env.register_frontend();
  FrontendSupervisor::Registration reg{r.index(), r.http(), r.admin(), static_cast<pid_t>(r.pid()), {}};
  if (auto remote = conn->remote_endpoint(); remote.port() != 0) reg.peer_host = remote.address().to_string();
  auto superseded = workers_.HasConnection(conn.get()) ? Result<const void*>(Status::InvalidArgument("this connection has already registered"))
                                                       : frontends_.Register(conn.get(), reg);
  if (!superseded.ok()) {
    Counters().bad_messages.Inc();
    spdlog::warn("{} registered as a second peer on one connection; closing", conn->name());
    conn->ReplyError(env, superseded.status());
    conn->CloseAfterWrite(Status::Protocol("second registration on one connection"));
    return;
  }
  if (auto* old = ConnOf(*superseded)) old->Close(Status::Cancelled("superseded by a new registration"));
  conn->set_name(fmt::format("frontend {}", r.index()));
  conn->set_max_frame_bytes(config_.wire.max_frame_bytes);
  wire::Envelope ack;
  ack.mutable_register_ack()->set_epoch(epoch_);
  conn->Reply(env, std::move(ack));
  spdlog::info("front end {} registered: http {}:{} (pid {})", r.index(), r.http().host(), r.http().port(), r.pid());
}

void Manager::OnLoadReport(const wire::Connection::Ptr& conn, const wire::LoadReport& report) {
  ++reports_;
  Counters().reports.Inc();
  Status s = workers_.Report(conn.get(), report.weighted_load(), report.queue_length(), report.completed(), Clock::now());
  if (s.kind() == ErrorKind::kInvalidArgument) {
    Counters().bad_messages.Inc();
    spdlog::warn("{} reported a load of {}; ignored", conn->name(), report.weighted_load());
  }  // NotFound: a report before registration, ignored
}

bool Manager::Adopting(Clock::time_point now) const {
  return !fresh_ && now - started_ < Millis(config_.manager.adopt_grace_ms);
}

void Manager::OnSpawnRequest(const std::string& cls) {
  const ClassConfig* cc = config_.FindClass(cls);
  if (!cc || Adopting(Clock::now())) return;
  supervisor_.SpawnOnDemand(cls, Clock::now());
}

void Manager::OnClose(const wire::Connection::Ptr& conn, const Status& why) {
  connections_.erase(conn.get());
  if (auto w = workers_.Remove(conn.get())) {
    supervisor_.OnWorkerLost(*w, why.ToString(), Clock::now());
    SendBeacon();  // tell the front ends at once
  }
  if (auto index = frontends_.OnConnectionLost(conn.get(), Clock::now())) spdlog::warn("front end {} lost: {}", *index, why.ToString());
}

void Manager::OnProcessExit(pid_t pid, const std::string& how) {
  if (supervisor_.OnProcessExit(pid, how, Clock::now())) return;
  frontends_.OnProcessExit(pid, how, Clock::now());
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
  bool adopting = Adopting(now);
  for (auto& id : supervisor_.Tick(now, adopting)) Drain(id);
  if (!adopting && config_.manager.manage_frontends) frontends_.Tick(now, false);
  if (now - last_silence_check_ >= std::chrono::seconds(1)) CloseSilentWorkers(now);
}

void Manager::CloseSilentWorkers(Clock::time_point now) {
  // Once a second, not every tick: a walk over every worker, and a peer timeout is seconds.
  last_silence_check_ = now;
  auto timeout = Millis(config_.manager.peer_timeout_ms);
  for (auto key : workers_.Silent(now, timeout)) {
    if (auto* conn = ConnOf(key)) {
      spdlog::warn("closing connection {}: no load report for {} ms{}", conn->name(), timeout.count(),
                   load_reports_ ? " (are datagrams to the manager's port blocked?)" : "");
      conn->Close(Status::Timeout(fmt::format("no load report for {} ms", timeout.count())));
    }
  }
}

void Manager::Drain(const std::string& id) {
  const auto* w = workers_.Find(id);
  if (!w) return;
  wire::Envelope env;
  env.mutable_drain();
  if (auto* conn = ConnOf(w->conn)) conn->Send(std::move(env));
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
  b.set_datagrams_refused(LoadReportStats().Suspect());  // BeaconSender adds the beacon paths' own
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
  for (auto& [id, w] : workers_.workers()) {
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
    cs.set_pending_spawns(static_cast<uint32_t>(supervisor_.PendingCount(name)));
    cs.set_crashes(supervisor_.TotalCrashes(name));
    cs.set_restarts_suspended(supervisor_.Suspended(name, now));
    entries.AddClass(cs);
  }
  for (auto& [i, f] : frontends_.frontends()) {
    if (!f.conn) continue;
    wire::FrontendInfo fi;
    fi.set_index(i);
    *fi.mutable_http() = f.http;
    *fi.mutable_admin() = f.admin;
    fi.set_pid(static_cast<uint32_t>(f.pid));
    fi.set_open_connections(f.open_connections);
    fi.set_peer_host(f.peer_host);
    entries.AddFrontend(fi);
  }
  return b;
}

wire::Connection* Manager::ConnOf(const void* key) const {
  auto it = connections_.find(key);
  return it == connections_.end() ? nullptr : it->second.get();
}

void Manager::SendBeacon() {
  if (running_ && beacons_) beacons_->SendSoon();
}

void Manager::ReloadFrontends() {
  spdlog::info("manager: asking the front ends to reload their configuration");
  frontends_.SignalAll(SIGHUP);
}

}  // namespace tacc::sns
