#include "sns/worker_stub.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/metrics.h"
#include "sns/manager_stub.h"
#include "wire/cluster_options.h"
#include "wire/datagram_seal.h"

namespace tacc::sns {

namespace asio = boost::asio;
using asio::ip::tcp;
using Millis = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
struct StubCounters {
  Counter& tasks = Metrics().counter("tacc_worker_tasks_total", "Tasks received");
  Counter& overloaded = Metrics().counter("tacc_worker_overloaded_total", "Tasks refused because the queue was full");
  Counter& expired = Metrics().counter("tacc_worker_expired_total", "Tasks dropped because their deadline passed while queued");
  Counter& failed = Metrics().counter("tacc_worker_failed_total", "Tasks the worker function failed");
  Counter& handoffs = Metrics().counter("tacc_worker_handoffs_total", "Tasks handed on to another class (WorkerFunction's Handoff)");
};
StubCounters& Counters() {
  static StubCounters c;
  return c;
}
}  // namespace

WorkerStub::WorkerStub(asio::io_context& ctx, Config config, std::string worker_class, std::string spawn_token, WorkerFunctionPtr fn)
    : ctx_(ctx),
      config_(std::move(config)),
      class_(std::move(worker_class)),
      spawn_token_(std::move(spawn_token)),
      fn_(std::move(fn)),
      acceptor_(ctx),
      follower_(ManagerFollower::Options{Millis(config_.frontend.manager_timeout_ms), Millis(3 * config_.beacon.interval_ms)}),
      alive_(std::make_shared<bool>(true)) {
  if (auto* cc = config_.FindClass(class_)) {
    default_cost_ = cc->cost_hint;
    handoff_to_ = cc->handoff_to;
  }
}

WorkerStub::~WorkerStub() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

uint16_t WorkerStub::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

Status WorkerStub::Start() {
  auto auth = wire::LoadClusterAuth(config_);
  if (!auth.ok()) return auth.status();
  auth_ = *auth;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config_.cluster.host, ec);
  if (ec) return Status::InvalidArgument("setting 'cluster.host': not an IP address");
  acceptor_.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
  acceptor_.bind(tcp::endpoint(addr, 0), ec);
  if (ec) return Status::Unavailable("worker cannot listen: " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  id_ = fmt::format("{}@{}:{}", class_, config_.cluster.host, port());

  // A worker needs only the manager's address and epoch: beacon headers. One that may
  // hand tasks on needs the whole beacons, to pick a worker of the other class.
  BeaconListener::Options lo;
  lo.header_only = handoff_to_.empty();
  if (!handoff_to_.empty()) {
    handoff_directory_ = std::make_unique<SharedDirectory>();
    handoff_stub_ = std::make_unique<ManagerStub>(
        ctx_, config_, *handoff_directory_,
        [this, alive = alive_](const std::string& cls) {
          asio::post(ctx_, [this, alive, cls] {
            if (!*alive || !manager_conn_ || !manager_conn_->is_open()) return;
            wire::Envelope env;
            env.mutable_spawn_request()->set_worker_class(cls);
            manager_conn_->Send(std::move(env));
          });
        },
        std::random_device{}(), auth_);
  }
  auto l = BeaconListener::Open(ctx_, config_, auth_->key, [this](const wire::Beacon& b) { OnBeacon(b); }, lo);
  if (!l.ok()) return l.status();
  beacons_ = std::move(*l);
  beacons_->Start();

  thread_ = std::thread([this] { WorkerThreadMain(); });
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  asio::co_spawn(ctx_, ReportLoop(), asio::detached);
  asio::co_spawn(ctx_, HangWatch(), asio::detached);
  if (initial_manager_) {
    follower_.RegistrationStarted();
    asio::co_spawn(ctx_, RegisterWithManager(*initial_manager_, 0), asio::detached);
  }
  spdlog::info("worker {} ready", id_);
  return Status::Ok();
}

void WorkerStub::Stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  boost::system::error_code ec;
  acceptor_.close(ec);
  if (beacons_) beacons_->Stop();
  if (manager_conn_) manager_conn_->Close(Status::Cancelled("worker stopping"));
  auto conns = task_conns_;
  for (auto& c : conns) c->Close(Status::Cancelled("worker stopping"));
  ctx_.stop();
}

void WorkerStub::Drain(const std::string& why) {
  if (draining_ || stopped_) return;
  draining_ = true;
  spdlog::info("worker {} draining: {}", id_, why);
  asio::co_spawn(ctx_, DrainLoop(), asio::detached);
}

asio::awaitable<void> WorkerStub::DrainLoop() {
  auto alive = alive_;
  // Front ends may still send for up to a beacon period: keep answering for the grace.
  auto until = Clock::now() + Millis(config_.worker.drain_grace_ms);
  asio::steady_timer timer(ctx_);
  for (;;) {
    bool empty;
    {
      std::lock_guard lock(mu_);
      empty = queue_.empty() && running_ == 0;
    }
    if (!*alive) co_return;
    if (empty && Clock::now() >= until) break;
    timer.expires_after(Millis(20));
    co_await timer.async_wait(kUseTuple);
  }
  if (manager_conn_ && manager_conn_->is_open()) {
    wire::Envelope env;
    env.mutable_deregister();
    manager_conn_->Send(std::move(env));
    timer.expires_after(Millis(50));  // let the deregistration go out
    co_await timer.async_wait(kUseTuple);
  }
  spdlog::info("worker {} drained; exiting", id_);
  Stop();
}

void WorkerStub::OnBeacon(const wire::Beacon& b) {
  if (stopped_ || draining_) return;
  bool connected = manager_conn_ && manager_conn_->is_open();
  auto decision = follower_.OnBeacon(b, Clock::now(), connected);
  if (decision.use && handoff_directory_) handoff_directory_->Set(DirectorySnapshot::FromBeacon(b));
  if (decision.register_) {
    follower_.RegistrationStarted();
    asio::co_spawn(ctx_, RegisterWithManager(b.manager(), b.epoch()), asio::detached);
  }
}

asio::awaitable<void> WorkerStub::RegisterWithManager(wire::Endpoint manager, uint64_t epoch) {
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
  c->Start(
      [this, alive](const wire::Connection::Ptr& from, wire::Envelope&& env) {
        // Only the followed manager may reap us (not one we have left).
        if (*alive && env.has_drain() && from == manager_conn_) Drain("reaped by the manager");
      },
      [](const wire::Connection::Ptr&, const Status&) {});
  wire::Envelope reg;
  auto* r = reg.mutable_register_worker();
  r->set_id(id_);
  r->set_worker_class(class_);
  r->mutable_address()->set_host(config_.cluster.host);
  r->mutable_address()->set_port(port());
  r->set_pid(static_cast<uint32_t>(getpid()));
  r->set_spawn_token(spawn_token_);
  r->set_host(config_.cluster.host);
  auto reply = co_await c->Call(std::move(reg), Millis(config_.manager.peer_timeout_ms));
  if (!*alive) co_return;
  follower_.RegistrationEnded(reply.ok(), reply.ok() ? reply->register_ack().epoch() : 0, Clock::now());
  if (!reply.ok()) {
    spdlog::warn("registration with the manager failed: {}", reply.status().ToString());
    c->Close(reply.status());
    if (reply.status().kind() == ErrorKind::kNotFound) {
      spdlog::error("the manager does not know class {}; exiting", class_);
      Stop();
    }
    co_return;
  }
  if (manager_conn_ && manager_conn_ != c && manager_conn_->is_open()) {
    // Leaving the old manager on purpose: say so, so that it does not count a crash
    // and restart us if it is still alive (or comes back).
    wire::Envelope bye;
    bye.mutable_deregister();
    manager_conn_->Send(std::move(bye));
    asio::co_spawn(ctx_, CloseSoon(manager_conn_), asio::detached);
  }
  manager_conn_ = c;
  report_token_ = 0;
  if (uint64_t token = reply->register_ack().report_token(); token != 0 && !UseReportDatagrams(manager, token))
    spdlog::warn("cannot send load reports as datagrams to {}:{}; sending them over TCP", manager.host(), manager.port());
  uint64_t acked = reply->register_ack().epoch();
  if (epoch != 0 && acked != epoch)
    spdlog::warn("a beacon named manager epoch {} at {}:{}, but the manager there is epoch {}; following it", epoch, manager.host(), manager.port(), acked);
  spdlog::info("registered with manager epoch {}; load reports {}", acked, report_token_ ? "by datagram" : "over TCP");
}

asio::awaitable<void> WorkerStub::CloseSoon(wire::Connection::Ptr conn) {
  asio::steady_timer timer(ctx_);
  timer.expires_after(Millis(200));  // let the deregistration go out first
  co_await timer.async_wait(kUseTuple);
  conn->Close(Status::Cancelled("followed a new manager"));
}

bool WorkerStub::UseReportDatagrams(const wire::Endpoint& manager, uint64_t token) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(manager.host(), ec);
  if (ec) return false;
  asio::ip::udp::socket s(ctx_);
  s.open(addr.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6(), ec);
  if (!ec) s.connect(asio::ip::udp::endpoint(addr, static_cast<uint16_t>(manager.port())), ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) return false;
  report_socket_.emplace(std::move(s));
  report_token_ = token;
  return true;
}

asio::awaitable<void> WorkerStub::ReportLoop() {
  static Counter& send_errors =
      Metrics().counter("tacc_worker_report_send_errors_total", "Load report datagrams the kernel refused to send (the next one follows)");
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  while (*alive) {
    if (manager_conn_ && manager_conn_->is_open() && !draining_) {
      wire::LoadReport r;
      {
        std::lock_guard lock(mu_);
        r.set_queue_length(static_cast<uint32_t>(queue_.size() + running_));
        r.set_weighted_load(LoadLocked());
      }
      r.set_completed(completed_);
      r.set_failed(failed_);
      if (report_token_ != 0 && report_socket_) {
        wire::LoadAnnouncement a;
        a.set_token(report_token_);
        a.set_seq(++report_seq_);
        *a.mutable_report() = std::move(r);
        std::string datagram = wire::Seal(auth_->key, config_.cluster.name, wire::DATAGRAM_LOAD_REPORT, a.SerializeAsString(), wire::NowUnixMs());
        boost::system::error_code ec;
        report_socket_->send(asio::buffer(datagram), 0, ec);
        if (ec) send_errors.Inc();  // lost like any datagram; silence is judged over several
      } else {
        wire::Envelope env;
        *env.mutable_load_report() = std::move(r);
        manager_conn_->Send(std::move(env));
      }
    }
    timer.expires_after(Millis(config_.worker.report_ms));
    co_await timer.async_wait(kUseTuple);
  }
}

asio::awaitable<void> WorkerStub::AcceptLoop() {
  static Counter& refused = Metrics().counter("tacc_worker_connections_refused_total", "Task connections closed at once: worker.max_connections or wire.max_pending_handshakes reached");
  auto alive = alive_;
  while (*alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    if (static_cast<int>(task_conns_.size()) + handshakes_ >= config_.worker.max_connections ||
        handshakes_ >= config_.wire.max_pending_handshakes) {
      refused.Inc();
      boost::system::error_code cec;
      socket.close(cec);
      continue;
    }
    asio::co_spawn(ctx_, AcceptOne(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> WorkerStub::AcceptOne(tcp::socket socket) {
  auto alive = alive_;
  ++handshakes_;
  auto conn = co_await wire::Accept(std::move(socket), wire::ClusterConnectionOptions(config_, auth_, "task client"));
  --handshakes_;
  if (!*alive || !conn.ok()) co_return;
  auto c = *conn;
  task_conns_.push_back(c);
  c->Start([this, alive](const wire::Connection::Ptr& cc, wire::Envelope&& env) { if (*alive) OnTask(cc, std::move(env)); },
           [this, alive](const wire::Connection::Ptr& cc, const Status&) { if (*alive) std::erase(task_conns_, cc); });
}

asio::awaitable<void> WorkerStub::HangWatch() {
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  auto limit = Millis(config_.worker.hang_timeout_ms);
  uint64_t seen = 0;
  auto since = Clock::now();
  while (*alive) {
    timer.expires_after(std::max(Millis(10), limit / 10));
    co_await timer.async_wait(kUseTuple);
    uint64_t progress;
    bool busy;
    {
      std::lock_guard lock(mu_);
      progress = progress_;
      busy = running_ > 0;
    }
    if (progress != seen || !busy) {
      seen = progress;
      since = Clock::now();
      continue;
    }
    if (Clock::now() - since >= limit) {
      co_await ExitHung(limit);
    }
  }
}

asio::awaitable<void> WorkerStub::ExitHung(Millis limit) {
  // The worker function is stuck and cannot be cancelled from outside its thread. The
  // task it runs is the likely cause: retried, it would hang the replacement too, so it
  // gets a worker error. Closing every task connection makes the front ends retry the
  // queued tasks elsewhere now, and the manager restarts the class (as a crash).
  spdlog::error("worker {} hung: its function made no progress for {} ms (worker.hang_timeout_ms); exiting so its queued tasks are retried elsewhere",
                id_, limit.count());
  wire::Connection::Ptr culprit;
  wire::Envelope request;
  {
    std::lock_guard lock(mu_);
    culprit = running_conn_.lock();
    request.set_id(running_request_id_);
  }
  if (culprit && culprit->is_open() && request.id() != 0)
    culprit->ReplyError(request, Status::WorkerError(fmt::format("the task made worker {} hang: no progress for {} ms (worker.hang_timeout_ms)",
                                                                 id_, limit.count())));
  auto conns = task_conns_;
  for (auto& c : conns) c->CloseAfterWrite(Status::Unavailable("worker hung"));
  asio::steady_timer timer(ctx_);
  for (int i = 0; i < 50; ++i) {  // at most 250 ms for the error reply to go out
    if (std::none_of(conns.begin(), conns.end(), [](const auto& c) { return c->is_open(); })) break;
    timer.expires_after(Millis(5));
    co_await timer.async_wait(kUseTuple);
  }
  spdlog::default_logger()->flush();
  std::_Exit(70);
}

void WorkerStub::OnTask(const wire::Connection::Ptr& conn, wire::Envelope&& env) {
  if (!env.has_task() || env.id() == 0) {
    spdlog::warn("{} sent something other than a task; closing", conn->name());
    if (env.id() != 0) conn->ReplyError(env, Status::InvalidArgument("a worker takes only tasks"));
    conn->Close(Status::Protocol("not a task"));
    return;
  }
  Counters().tasks.Inc();
  if (env.task().worker_class() != class_) {
    conn->ReplyError(env, Status::NotFound("this worker runs class " + class_ + ", not " + env.task().worker_class()));
    return;
  }
  double cost = env.task().cost_hint() > 0 ? env.task().cost_hint() : default_cost_;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() + running_ >= static_cast<size_t>(config_.worker.max_queue)) {
      Counters().overloaded.Inc();
      conn->ReplyError(env, Status::Overloaded(fmt::format("worker {} has {} tasks (worker.max_queue)", id_, queue_.size() + running_)));
      return;
    }
    auto deadline = Clock::now() + Millis(env.deadline_ms() ? env.deadline_ms() : config_.stub.task_timeout_ms);
    queued_cost_ += cost;
    queue_.push_back(QueuedTask{conn, std::move(env), deadline, cost});
  }
  cv_.notify_one();
}

void WorkerStub::WorkerThreadMain() {
  for (;;) {
    QueuedTask task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return quit_ || !queue_.empty(); });
      if (quit_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
      ++progress_;
      running_conn_ = task.conn;
      running_request_id_ = task.request.id();
    }
    Result<TaskOutput> result = Status::Timeout("deadline passed while queued");
    if (Clock::now() < task.deadline) {
      const auto& t = task.request.task();
      TaskInput in;
      in.data = t.input();
      in.mime_type = t.mime_type();
      in.args.insert(t.args().begin(), t.args().end());
      in.profile.insert(t.profile().begin(), t.profile().end());
      in.handed_off = t.handed_off();
      try {
        result = fn_->Process(in);
      } catch (const std::exception& e) {
        result = Status::WorkerError(std::string("worker threw: ") + e.what());
      }
    }
    {
      std::lock_guard lock(mu_);
      running_conn_.reset();
      running_request_id_ = 0;
    }
    asio::post(ctx_, [this, alive = alive_, task = std::move(task), result = std::move(result)]() mutable {
      if (*alive) Finish(std::move(task), std::move(result));
    });
  }
}

double WorkerStub::LoadLocked() const {
  return config_.worker.weight_by_cost ? queued_cost_ / default_cost_ : static_cast<double>(queue_.size() + running_);
}

void WorkerStub::Finish(QueuedTask task, Result<TaskOutput> result) {
  double load_now;
  {
    std::lock_guard lock(mu_);
    --running_;
    ++progress_;
    queued_cost_ -= task.cost;
    if (queue_.empty() && running_ == 0) queued_cost_ = 0;
    load_now = LoadLocked();
  }
  if (result.ok() && result->handoff) {
    Status allowed = CheckHandoff(task, *result->handoff);
    if (allowed.ok()) {
      asio::co_spawn(ctx_, HandOff(std::move(task), std::move(*result->handoff)), asio::detached);
      return;
    }
    result = allowed;
  }
  Answer(std::move(task), std::move(result), load_now);
}

Status WorkerStub::CheckHandoff(const QueuedTask& task, const Handoff& handoff) const {
  if (task.request.task().handed_off())
    return Status::WorkerError(fmt::format("{} asked to hand on a task that was handed on already (only one hand-off per task)", id_));
  if (!handoff_stub_ || std::find(handoff_to_.begin(), handoff_to_.end(), handoff.worker_class) == handoff_to_.end())
    return Status::WorkerError(fmt::format("{} asked to hand a task on to class '{}', which is not in classes.{}.handoff_to", id_, handoff.worker_class, class_));
  return Status::Ok();
}

asio::awaitable<void> WorkerStub::HandOff(QueuedTask task, Handoff handoff) {
  auto alive = alive_;
  const auto& t = task.request.task();
  TaskInput in;
  in.data = t.input();
  in.mime_type = t.mime_type();
  in.args.insert(t.args().begin(), t.args().end());
  for (auto& [k, v] : handoff.args) in.args[k] = v;
  in.profile.insert(t.profile().begin(), t.profile().end());
  in.handed_off = true;
  Counters().handoffs.Inc();
  std::string to = handoff.worker_class;  // named: see the GCC 12 note in transend_service.cc
  auto result = co_await handoff_stub_->Dispatch(to, std::move(in), task.deadline, nullptr);
  if (!*alive) co_return;
  if (result.ok()) result->meta["handed_off_by"] = id_;
  double load_now;
  {
    std::lock_guard lock(mu_);
    load_now = LoadLocked();
  }
  Answer(std::move(task), std::move(result), load_now);
}

void WorkerStub::Answer(QueuedTask task, Result<TaskOutput> result, double load_now) {
  if (result.ok()) {
    ++completed_;
  } else {
    ++failed_;
    if (result.status().kind() == ErrorKind::kTimeout) Counters().expired.Inc();
    else Counters().failed.Inc();
  }
  auto conn = task.conn.lock();
  if (!conn || !conn->is_open()) return;
  if (!result.ok()) {
    conn->ReplyError(task.request, result.status());
    return;
  }
  wire::Envelope reply;
  auto* r = reply.mutable_task_result();
  r->set_output(std::move(result->data));
  r->set_mime_type(std::move(result->mime_type));
  r->mutable_meta()->insert(result->meta.begin(), result->meta.end());
  r->mutable_meta()->insert({"worker", id_});  // a handed-on task's keeps the worker that did it
  for (auto& inj : result->injections) {
    auto* i = r->add_injections();
    i->mutable_args()->insert(inj.args.begin(), inj.args.end());
    i->set_mime_type(std::move(inj.mime_type));
    i->set_data(std::move(inj.data));
  }
  r->set_load(load_now);
  conn->Reply(task.request, std::move(reply));
}

}  // namespace tacc::sns
