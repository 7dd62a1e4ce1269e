#include "sns/frontend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <random>

#include "common/metrics.h"
#include "wire/cluster_options.h"
#include "wire/datagram_seal.h"
#include "http/forwarded_client.h"
#include "http/server.h"
#include "sns/connection_reporter.h"
#include "sns/manager_stub.h"
#include "sns/service.h"

namespace tacc::sns {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

namespace {

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      o += fmt::format("\\u{:04x}", c);
      continue;
    }
    o += c;
  }
  return o;
}

std::string StatusJson(const DirectorySnapshot* snap, uint32_t index) {
  if (!snap) return fmt::format("{{\"frontend\":{},\"manager\":null,\"workers\":[],\"frontends\":[],\"classes\":[]}}\n", index);
  auto& b = snap->beacon;
  auto age = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - snap->received).count();
  std::string out = fmt::format("{{\"frontend\":{},\"manager\":{{\"host\":\"{}\",\"port\":{},\"epoch\":{},\"pid\":{},\"beacon_seq\":{},\"beacon_age_ms\":{}}},\"workers\":[",
                                index, JsonEscape(b.manager().host()), b.manager().port(), b.epoch(), b.manager_pid(), b.seq(), age);
  for (int i = 0; i < b.workers_size(); ++i) {
    auto& w = b.workers(i);
    out += fmt::format("{}{{\"id\":\"{}\",\"class\":\"{}\",\"pid\":{},\"load\":{:.3f}}}", i ? "," : "", JsonEscape(w.id()),
                       JsonEscape(w.worker_class()), w.pid(), w.load());
  }
  out += "],\"frontends\":[";
  for (int i = 0; i < b.frontends_size(); ++i) {
    auto& f = b.frontends(i);
    out += fmt::format("{}{{\"index\":{},\"host\":\"{}\",\"port\":{},\"admin\":{{\"host\":\"{}\",\"port\":{}}},\"pid\":{}}}", i ? "," : "",
                       f.index(), JsonEscape(f.http().host()), f.http().port(), JsonEscape(f.admin().host()), f.admin().port(), f.pid());
  }
  out += "],\"classes\":[";
  for (int i = 0; i < b.classes_size(); ++i) {
    auto& c = b.classes(i);
    out += fmt::format("{}{{\"name\":\"{}\",\"workers\":{},\"pending\":{},\"mean_load\":{:.3f},\"crashes\":{},\"restarts_suspended\":{}}}", i ? "," : "",
                       JsonEscape(c.name()), c.workers(), c.pending_spawns(), c.mean_load(), c.crashes(), c.restarts_suspended() ? "true" : "false");
  }
  return out + "]}\n";
}

http::ServerLimits HttpLimits(const Config& c) {
  http::ServerLimits l;
  l.max_header_bytes = c.http.max_header_bytes;
  l.max_body_bytes = c.http.max_body_bytes;
  l.idle_timeout_ms = c.http.idle_timeout_ms;
  l.read_timeout_ms = c.http.read_timeout_ms;
  l.max_connections = c.http.max_connections;
  l.max_buffered_bytes = c.http.max_buffered_bytes;
  return l;
}

// The admin listener's own budget: a few operators and scrapers, small GET requests.
constexpr int kAdminConnections = 64;
constexpr int64_t kAdminBufferedBytes = 4 << 20;

}  // namespace

// One event-loop thread of the front end.
class Frontend::Shard : public http::RequestHandler {
 public:
  Shard(Frontend& fe, int id, std::unique_ptr<Service> service)
      : fe_(fe),
        id_(id),
        stub_(ctx_, fe.config_, fe.directory_, [&fe](const std::string& cls) { if (fe.link_) fe.link_->RequestSpawn(cls); },
              std::random_device{}() ^ (static_cast<uint64_t>(id) << 32), fe.auth_),
        service_(std::move(service)),
        server_(ctx_, HttpLimits(fe.config_), *this, fe.budget_) {}

  // Every request on the public port goes to the service (the admin paths included).
  asio::awaitable<http::Reply> Handle(http::Request& req, const http::RequestInfo& info) override {
    const http::RequestInfo* effective = &info;
    http::RequestInfo forwarded;
    if (!fe_.config_.http.trusted_proxies.empty()) {  // else no copy: the socket's peer is the client
      forwarded = info;
      forwarded.client = http::ForwardedClient(req, info.remote.address(), fe_.trusted_proxies_);
      effective = &forwarded;
    }
    ServiceContext sctx{stub_, fe_.config_, *effective};
    co_return co_await service_->Handle(req, sctx);
  }

  asio::io_context ctx_{1};
  // Keeps run() going while nothing is pending (e.g. between the hand-over and the
  // drain); Stop() ends it with ctx_.stop().
  asio::executor_work_guard<asio::io_context::executor_type> work_{ctx_.get_executor()};
  Frontend& fe_;
  int id_;
  ManagerStub stub_;
  std::unique_ptr<Service> service_;
  http::Server server_;
};

// The admin listener's endpoints.
class Frontend::AdminHandler : public http::RequestHandler {
 public:
  explicit AdminHandler(Frontend& fe) : fe_(fe) {}
  asio::awaitable<http::Reply> Handle(http::Request& req, const http::RequestInfo&) override {
    std::string_view target = req.target();
    if (target == "/_tacc/health") co_return http::MakeResponse(req, bhttp::status::ok, "ok\n");
    if (target == "/_tacc/metrics") co_return http::MakeResponse(req, bhttp::status::ok, Metrics().RenderPrometheus(), "text/plain; version=0.0.4");
    if (target == "/_tacc/status") {
      auto snap = fe_.directory_.Get();
      co_return http::MakeResponse(req, bhttp::status::ok, StatusJson(snap.get(), fe_.index_), "application/json");
    }
    if (target == "/_tacc/connections") {
      if (req.method() != bhttp::verb::post) co_return http::MakeResponse(req, bhttp::status::method_not_allowed, "POST a sealed connection query\n");
      auto report = fe_.reporter_->Answer(req.body(), wire::NowUnixMs());
      if (!report.ok()) {
        spdlog::warn("front end {}: connection query refused: {}", fe_.index_, report.status().ToString());
        auto code = report.status().kind() == ErrorKind::kForbidden      ? bhttp::status::forbidden
                    : report.status().kind() == ErrorKind::kInvalidArgument ? bhttp::status::bad_request
                                                                           : bhttp::status::internal_server_error;
        co_return http::MakeResponse(req, code, report.status().message() + "\n");
      }
      spdlog::info("front end {}: reported its connections to a dispatcher rebuilding its connection map ({} bytes)", fe_.index_, report->size());
      co_return http::MakeResponse(req, bhttp::status::ok, std::move(report).value(), "application/octet-stream");
    }
    co_return http::MakeResponse(req, bhttp::status::not_found,
                                 "admin endpoints: /_tacc/health /_tacc/metrics /_tacc/status, POST /_tacc/connections (dispatchers)\n");
  }

 private:
  Frontend& fe_;
};

Frontend::Frontend(Config config, ConfigArgs args, uint32_t index, int port)
    : config_(std::move(config)),
      args_(std::move(args)),
      index_(index),
      requested_port_(port),
      budget_(std::make_shared<http::ServerBudget>(HttpLimits(config_))),
      admin_budget_(std::make_shared<http::ServerBudget>(kAdminConnections, kAdminBufferedBytes)) {}

Frontend::~Frontend() {
  Stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  if (stop_thread_.joinable()) stop_thread_.join();
  // Everything that lives on a shard's io_context goes before the shards.
  link_.reset();
  launcher_.reset();
  admin_.reset();
  shards_.clear();
}

std::string Frontend::HandoverPath() const { return fmt::format("{}/frontend-{}.handover", config_.RunDir(), index_); }

Status Frontend::Start() {
  auto trusted = http::NetworkList::Make(config_.http.trusted_proxies);
  if (!trusted.ok()) return Status::InvalidArgument("setting 'http.trusted_proxies': " + trusted.status().message());
  trusted_proxies_ = std::move(*trusted);
  auto auth = wire::LoadClusterAuth(config_);
  if (!auth.ok()) return auth.status();
  auth_ = *auth;
  const ServiceFactory* factory = FindService(config_.frontend.service);
  if (!factory) return Status::InvalidArgument("setting 'frontend.service': no service named '" + config_.frontend.service + "'");
  // The per-index lock keeps one front end per index on this host, except during a
  // hand-over: a front end that stops on purpose offers its lock and sockets.
  std::optional<HandedSockets> handed;
  std::optional<HandoverChannel> channel;
  auto lock = FileLock::Acquire(fmt::format("{}/frontend-{}.lock", config_.RunDir(), index_));
  if (lock.ok()) {
    lock_.emplace(std::move(*lock));
  } else {
    auto ch = HandoverChannel::Connect(HandoverPath());
    if (!ch.ok()) return Status::Unavailable(fmt::format("front end {} of cluster '{}' already runs on this host", index_, config_.cluster.name));
    auto got = ch->Receive(Millis(5000));
    if (!got.ok())
      return Status::Unavailable(fmt::format("front end {} of cluster '{}' is stopping, but taking over its sockets failed: {}", index_,
                                             config_.cluster.name, got.status().ToString()));
    lock_.emplace(FileLock::Adopt(got->lock.release()));
    handed.emplace(std::move(*got));
    channel.emplace(std::move(*ch));
  }
  int threads = config_.frontend.threads > 0 ? config_.frontend.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  shards_.reserve(static_cast<size_t>(threads));
  int port = requested_port_;
  for (int i = 0; i < threads; ++i) {
    auto svc = (*factory)(config_);
    if (!svc.ok()) return svc.status();
    shards_.push_back(std::make_unique<Shard>(*this, i, std::move(*svc)));
    auto& server = shards_.back()->server_;
    bool adopted = false;
    // Handed-over sockets: spread over the threads (a thread with none binds a new
    // socket into the same SO_REUSEPORT group).
    if (handed)
      for (size_t j = static_cast<size_t>(i); j < handed->http.size(); j += static_cast<size_t>(threads)) {
        Status s = server.Adopt(handed->http[j].release());
        if (!s.ok()) return s;
        adopted = true;
      }
    if (adopted && i == 0 && requested_port_ != 0 && server.port() != requested_port_)
      return Status::InvalidArgument(fmt::format("the stopping front end {} listens on port {}, not {}", index_, server.port(), requested_port_));
    if (!adopted) {
      Status s = server.Listen(config_.frontend.host, port);
      if (!s.ok()) return s;
    }
    port = server.port();  // the others join the port the first got
  }
  port_ = static_cast<uint16_t>(port);

  reporter_ = std::make_unique<ConnectionReporter>(auth_, port_);
  admin_handler_ = std::make_unique<AdminHandler>(*this);
  http::ServerLimits admin_limits = HttpLimits(config_);
  admin_limits.max_connections = kAdminConnections;
  admin_limits.max_buffered_bytes = kAdminBufferedBytes;
  admin_ = std::make_unique<http::Server>(shards_[0]->ctx_, admin_limits, *admin_handler_, admin_budget_);
  int admin_port = config_.frontend.admin_port == 0 ? 0 : config_.frontend.admin_port + static_cast<int>(index_);
  Status as = handed && handed->admin ? admin_->Adopt(handed->admin.release()) : admin_->Listen(config_.frontend.admin_host, admin_port, /*reuse_port=*/false);
  if (!as.ok()) return Status(as.kind(), "admin listener (frontend.admin_host, frontend.admin_port): " + as.message());
  admin_port_ = admin_->port();

  launcher_ = MakeLocalLauncher(shards_[0]->ctx_);
  wire::Endpoint http, admin;
  http.set_host(config_.frontend.host);
  http.set_port(port_);
  admin.set_host(config_.frontend.admin_host);
  admin.set_port(admin_port_);
  link_ = std::make_unique<ManagerLink>(shards_[0]->ctx_, config_, args_, index_, http, admin, directory_, *launcher_, auth_);
  link_->set_load_source([budget = budget_] { return static_cast<uint32_t>(std::max(0, budget->open())); });
  Status s = link_->Start();
  if (!s.ok()) return s;
  if (channel) {
    // The predecessor closes its copies once we confirm; the sockets stay open in us.
    Status c = channel->Confirm();
    if (!c.ok()) return c;
    spdlog::info("front end {} took over the listening sockets of its stopping predecessor", index_);
  }
  spdlog::info("front end {} listening on http://{}:{}/ ({} threads, service '{}'), admin on http://{}:{}/_tacc/status", index_,
               config_.frontend.host, port_, threads, config_.frontend.service, config_.frontend.admin_host, admin_port_);
  return Status::Ok();
}

void Frontend::Run() {
  for (size_t i = 1; i < shards_.size(); ++i) threads_.emplace_back([s = shards_[i].get()] { s->ctx_.run(); });
  if (!shards_.empty()) shards_[0]->ctx_.run();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Frontend::Stop() {
  stopped_ = true;
  for (auto& s : shards_) {
    asio::post(s->ctx_, [sh = s.get(), this] {
      sh->server_.Stop();
      sh->stub_.Stop();
      if (sh->id_ == 0) {
        if (link_) link_->Stop();
        if (admin_) admin_->Stop();
      }
      sh->ctx_.stop();
    });
  }
}

void Frontend::BeginOrderlyStop() {
  if (stopping_.exchange(true)) return;
  stop_thread_ = std::thread([this] { OrderlyStop(); });
}

void Frontend::Reload(const Config& config) {
  auto fresh = std::make_shared<const Config>(config);  // outlives the posted calls
  std::atomic<int> failed{0};
  OnEveryShard([fresh, &failed, this](Shard& s) {
    Status st = s.service_->Reload(*fresh);
    if (!st.ok() && failed.fetch_add(1) == 0) spdlog::error("front end {}: reload refused, old settings kept: {}", index_, st.ToString());
  });
  if (failed == 0) spdlog::info("front end {}: configuration reloaded", index_);
}

void Frontend::OnEveryShard(const std::function<void(Shard&)>& fn) {
  std::vector<std::future<void>> done;
  for (auto& s : shards_) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    asio::post(s->ctx_, [p, fn, sh = s.get()] {
      fn(*sh);
      p->set_value();
    });
  }
  // A shard whose loop has stopped (Stop()) never runs it: don't wait for it then.
  for (auto& f : done)
    while (f.wait_for(Millis(50)) != std::future_status::ready && !stopped_) {
    }
}

void Frontend::OrderlyStop() {
  auto deadline = Clock::now() + Millis(config_.frontend.stop_grace_ms);
  spdlog::info("front end {} stopping: no new connections, requests in flight get up to {} ms", index_, config_.frontend.stop_grace_ms);
  bool handed_over = false;
  // Offer the listening sockets first, then ask the manager for a successor, which
  // will find the offer when it starts.
  std::optional<HandoverListener> offer;
  if (auto o = HandoverListener::Open(HandoverPath()); o.ok()) offer.emplace(std::move(*o));
  else spdlog::warn("front end {}: no hand-over to a successor: {}", index_, o.status().ToString());
  if (offer && AskForSuccessor(deadline)) {
    while (!handed_over && !stopped_ && Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
      auto channel = offer->Accept(std::min(left, Millis(100)));
      if (!channel.ok()) {
        if (channel.status().kind() != ErrorKind::kTimeout) spdlog::warn("front end {}: {}", index_, channel.status().ToString());
        continue;
      }
      handed_over = HandOver(*channel, deadline);
    }
    if (!handed_over) spdlog::warn("front end {}: no successor took over within frontend.stop_grace_ms", index_);
  }
  offer.reset();  // removes the socket file
  OnEveryShard([this, handed_over](Shard& s) {
    s.server_.CloseListeners();
    s.server_.Drain(!handed_over);
    if (s.id_ == 0 && admin_) {
      admin_->CloseListeners();
      admin_->Drain(true);
    }
  });
  // Without a successor nobody will serve an idle connection's next request, so idle
  // connections were closed at once; with one, they get their next request answered.
  while (!stopped_ && Clock::now() < deadline && (budget_->open() > 0 || admin_budget_->open() > 0))
    std::this_thread::sleep_for(Millis(10));
  if (budget_->open() > 0) spdlog::warn("front end {}: closing {} connections still open after frontend.stop_grace_ms", index_, budget_->open());
  spdlog::info("front end {} stopped", index_);
  Stop();
}

bool Frontend::AskForSuccessor(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
  auto timeout = std::max(Millis(0), std::min(left, Millis(config_.manager.peer_timeout_ms)));
  auto answer = std::make_shared<std::promise<bool>>();
  auto future = answer->get_future();
  asio::co_spawn(shards_[0]->ctx_, link_->Leave(timeout), [answer](std::exception_ptr e, bool yes) { answer->set_value(!e && yes); });
  auto until = Clock::now() + timeout + Millis(500);
  while (future.wait_for(Millis(50)) != std::future_status::ready)
    if (stopped_ || Clock::now() > until) return false;
  bool yes = future.get();
  if (!yes) spdlog::info("front end {}: the manager starts no successor; stopping without hand-over", index_);
  return yes;
}

bool Frontend::HandOver(HandoverChannel& channel, Clock::time_point deadline) {
  // Stop accepting everywhere first: from here until the successor accepts, the kernel
  // queues new connections on the very sockets we pass on.
  auto fds = std::make_shared<std::pair<std::mutex, std::vector<int>>>();
  auto admin_fd = std::make_shared<int>(-1);
  OnEveryShard([this, fds, admin_fd](Shard& s) {
    s.server_.StopAccepting();
    auto mine = s.server_.listener_fds();
    std::lock_guard lock(fds->first);
    fds->second.insert(fds->second.end(), mine.begin(), mine.end());
    if (s.id_ == 0 && admin_) {
      admin_->StopAccepting();
      auto a = admin_->listener_fds();
      if (!a.empty()) *admin_fd = a.front();
    }
  });
  std::vector<int> http;
  {
    std::lock_guard lock(fds->first);
    http = fds->second;
  }
  Status s = channel.Send(lock_->fd(), *admin_fd, http);
  if (s.ok()) s = channel.AwaitConfirm(std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now())));
  if (!s.ok()) {
    spdlog::warn("front end {}: hand-over to the successor failed ({}); accepting again", index_, s.ToString());
    OnEveryShard([this](Shard& sh) {
      sh.server_.ResumeAccepting();
      if (sh.id_ == 0 && admin_) admin_->ResumeAccepting();
    });
    return false;
  }
  spdlog::info("front end {} handed its listening sockets (port {}, admin port {}) to its successor", index_, port_, admin_port_);
  return true;
}

}  // namespace tacc::sns
