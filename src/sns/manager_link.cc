#include "sns/manager_link.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/metrics.h"
#include "sns/manager_election.h"
#include "wire/cluster_options.h"

namespace tacc::sns {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

ManagerLink::ManagerLink(asio::io_context& ctx, const Config& config, ConfigArgs args, uint32_t index, wire::Endpoint http,
                         wire::Endpoint admin, SharedDirectory& directory, Launcher& launcher, wire::ClusterAuthPtr auth)
    : ctx_(ctx),
      config_(config),
      args_(std::move(args)),
      index_(index),
      http_(std::move(http)),
      admin_(std::move(admin)),
      directory_(directory),
      launcher_(launcher),
      auth_(std::move(auth)),
      follower_(ManagerFollower::Options{Millis(config.frontend.manager_timeout_ms), Millis(3 * config.beacon.interval_ms)}),
      alive_(std::make_shared<bool>(true)) {}

ManagerLink::~ManagerLink() { Stop(); }

Status ManagerLink::Start() {
  auto l = BeaconListener::Open(ctx_, config_, auth_->key, [this](const wire::Beacon& b) { OnBeacon(b); });
  if (!l.ok()) return l.status();
  beacons_ = std::move(*l);
  beacons_->Start();
  last_beacon_ = Clock::now();
  asio::co_spawn(ctx_, WatchLoop(), asio::detached);
  return Status::Ok();
}

void ManagerLink::Stop() {
  if (!*alive_) return;
  *alive_ = false;
  if (beacons_) beacons_->Stop();
  if (conn_) conn_->Close(Status::Cancelled("front end stopping"));
}

void ManagerLink::RequestSpawn(const std::string& cls) {
  asio::post(ctx_, [this, alive = alive_, cls] {
    if (!*alive || !conn_ || !conn_->is_open()) return;
    wire::Envelope env;
    env.mutable_spawn_request()->set_worker_class(cls);
    conn_->Send(std::move(env));
  });
}

void ManagerLink::OnBeacon(const wire::Beacon& b) {
  auto now = Clock::now();
  last_beacon_ = now;  // some manager is alive: no need to start one
  bool connected = conn_ && conn_->is_open();
  auto d = follower_.OnBeacon(b, now, connected);
  if (d.use) Publish(b);
  else if (follower_.registering() && candidate_ && candidate_->epoch() == b.epoch()) candidate_ = b;
  if (d.register_ && !leaving_) {
    follower_.RegistrationStarted();
    candidate_ = b;
    asio::co_spawn(ctx_, Register(b.manager(), b.epoch()), asio::detached);
  }
}

void ManagerLink::Publish(const wire::Beacon& b) {
  auto current = directory_.Get();
  if (b.adopting() && current && current->beacon.epoch() != b.epoch()) {
    // A restarted manager still collecting re-registrations: keep serving with the
    // workers we knew until they show up in its beacons (or the adoption ends).
    wire::Beacon merged = b;
    std::set<std::string> listed;
    for (auto& w : b.workers()) listed.insert(w.id());
    for (auto& w : current->beacon.workers())
      if (!listed.contains(w.id())) *merged.add_workers() = w;
    merged.set_epoch(current->beacon.epoch());  // keep merging until adoption ends
    directory_.Set(DirectorySnapshot::FromBeacon(merged));
  } else {
    directory_.Set(DirectorySnapshot::FromBeacon(b));
  }
}

asio::awaitable<bool> ManagerLink::Leave(Millis timeout) {
  auto alive = alive_;
  if (!*alive || !conn_ || !conn_->is_open()) co_return false;
  leaving_ = true;
  auto conn = conn_;
  wire::Envelope env;
  env.mutable_deregister();
  auto reply = co_await conn->Call(std::move(env), timeout);
  if (!*alive || !reply.ok()) co_return false;
  co_return reply->body_case() == wire::Envelope::kDeregister;  // "a successor is on its way"
}

asio::awaitable<void> ManagerLink::Register(wire::Endpoint manager, uint64_t epoch) {
  auto alive = alive_;
  auto opts = wire::ClusterConnectionOptions(config_, auth_, "manager");
  auto conn = co_await wire::Connect(manager, opts, Millis(config_.stub.connect_timeout_ms));
  if (!*alive) co_return;
  if (!conn.ok()) {
    follower_.RegistrationEnded(false, 0, Clock::now());
    spdlog::warn("cannot reach the manager at {}:{}: {}", manager.host(), manager.port(), conn.status().ToString());
    co_return;
  }
  auto c = *conn;
  c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {},
           [this, alive](const wire::Connection::Ptr& closed, const Status&) {
             if (*alive && closed == conn_) conn_lost_at_ = Clock::now();
           });
  wire::Envelope reg;
  auto* r = reg.mutable_register_frontend();
  r->set_index(index_);
  *r->mutable_http() = http_;
  *r->mutable_admin() = admin_;
  r->set_pid(static_cast<uint32_t>(getpid()));
  r->set_host(config_.cluster.host);
  auto reply = co_await c->Call(std::move(reg), Millis(config_.manager.peer_timeout_ms));
  if (!*alive) co_return;
  uint64_t acked = reply.ok() ? reply->register_ack().epoch() : 0;
  follower_.RegistrationEnded(reply.ok(), acked, Clock::now());
  if (!reply.ok()) {
    spdlog::warn("registration with the manager failed: {}", reply.status().ToString());
    c->Close(reply.status());
    co_return;
  }
  if (conn_ && conn_ != c) conn_->Close(Status::Cancelled("new manager"));
  conn_ = c;
  if (acked != epoch)
    spdlog::warn("a beacon named manager epoch {} at {}:{}, but the manager there is epoch {}; following it", epoch, manager.host(), manager.port(), acked);
  spdlog::info("front end {} registered with manager epoch {}", index_, acked);
  // Its directory is ours from now on: publish the newest beacon heard from it.
  if (candidate_ && candidate_->epoch() == acked) Publish(*candidate_);
  candidate_.reset();
}

int ManagerLink::Rank() const {
  auto snap = directory_.Get();
  return FrontendRank(snap ? &snap->beacon : nullptr, index_);
}

asio::awaitable<void> ManagerLink::WatchLoop() {
  static Counter& restarts = Metrics().counter("tacc_frontend_manager_restarts_total", "Times this front end restarted a silent manager");
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  auto timeout = Millis(config_.frontend.manager_timeout_ms);
  auto next_heartbeat = Clock::now();
  while (*alive) {
    auto now = Clock::now();
    if (conn_ && conn_->is_open() && now >= next_heartbeat) {
      wire::Envelope env;
      auto* report = env.mutable_frontend_report();
      if (open_connections_) report->set_open_connections(open_connections_());
      conn_->Send(std::move(env));
      next_heartbeat = now + Millis(config_.beacon.interval_ms);
    }
    auto silent = now - last_beacon_;
    ElectionInput in;
    in.now = now;
    in.last_beacon = last_beacon_;
    in.last_restart = last_restart_;
    in.timeout = timeout;
    in.rank = Rank();
    // Broken connection to a manager on this host whose process is gone: no need to
    // wait for the beacons to stop (liveness check only; nothing is signalled).
    if (conn_lost_at_ != Clock::time_point{} && conn_ && !conn_->is_open()) {
      auto snap = directory_.Get();
      in.connection_lost_and_process_gone =
          snap && snap->beacon.manager().host() == config_.cluster.host && !launcher_.Alive(static_cast<pid_t>(snap->beacon.manager_pid()));
      in.connection_lost_at = conn_lost_at_;
    }
    bool known_dead = in.connection_lost_and_process_gone && now - conn_lost_at_ >= timeout * in.rank;
    int rank = in.rank;
    if (config_.frontend.restart_manager && ShouldRestartManager(in)) {
      conn_lost_at_ = {};
      last_restart_ = now;
      restarts.Inc();
      spdlog::warn("manager {}: front end {} (rank {}) restarts the manager",
                   known_dead ? std::string("process gone (connection broke)") : fmt::format("silent for {} ms", std::chrono::duration_cast<Millis>(silent).count()),
                   index_, rank);
      std::vector<std::string> argv = {"manager"};
      auto extra = args_.ToArgv();
      argv.insert(argv.end(), extra.begin(), extra.end());
      auto pid = launcher_.Launch(argv);
      if (!pid.ok()) spdlog::error("cannot restart the manager: {}", pid.status().ToString());
    }
    timer.expires_after(Millis(std::max(10, config_.beacon.interval_ms / 5)));
    co_await timer.async_wait(kUseTuple);
  }
}

}  // namespace tacc::sns
