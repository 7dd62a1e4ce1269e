#include "sns/frontend.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <random>

#include "common/metrics.h"
#include "http/server.h"
#include "sns/manager_stub.h"
#include "sns/service.h"

namespace tacc::sns {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

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
    out += fmt::format("{}{{\"index\":{},\"host\":\"{}\",\"port\":{},\"pid\":{}}}", i ? "," : "", f.index(), JsonEscape(f.http().host()),
                       f.http().port(), f.pid());
  }
  out += "],\"classes\":[";
  for (int i = 0; i < b.classes_size(); ++i) {
    auto& c = b.classes(i);
    out += fmt::format("{}{{\"name\":\"{}\",\"workers\":{},\"pending\":{},\"mean_load\":{:.3f},\"crashes\":{},\"restarts_suspended\":{}}}", i ? "," : "",
                       JsonEscape(c.name()), c.workers(), c.pending_spawns(), c.mean_load(), c.crashes(), c.restarts_suspended() ? "true" : "false");
  }
  return out + "]}\n";
}

}  // namespace

// One event-loop thread of the front end.
class Frontend::Shard : public http::RequestHandler {
 public:
  Shard(Frontend& fe, int id, std::unique_ptr<Service> service)
      : fe_(fe),
        id_(id),
        stub_(ctx_, fe.config_, fe.directory_, [&fe](const std::string& cls) { if (fe.link_) fe.link_->RequestSpawn(cls); },
              static_cast<int>(fe.shards_.capacity()), std::random_device{}() ^ (static_cast<uint64_t>(id) << 32)),
        service_(std::move(service)),
        server_(ctx_, Limits(fe.config_), *this) {}

  static http::ServerLimits Limits(const Config& c) {
    http::ServerLimits l;
    l.max_header_bytes = c.http.max_header_bytes;
    l.max_body_bytes = c.http.max_body_bytes;
    l.idle_timeout_ms = c.http.idle_timeout_ms;
    l.read_timeout_ms = c.http.read_timeout_ms;
    l.max_connections = c.http.max_connections;
    return l;
  }

  asio::awaitable<http::Response> Handle(http::Request& req, const http::RequestInfo& info) override {
    std::string_view target = req.target();
    if (target == "/_tacc/health") co_return http::MakeResponse(req, bhttp::status::ok, "ok\n");
    if (target == "/_tacc/metrics") co_return http::MakeResponse(req, bhttp::status::ok, Metrics().RenderPrometheus(), "text/plain; version=0.0.4");
    if (target == "/_tacc/status") {
      auto snap = fe_.directory_.Get();
      co_return http::MakeResponse(req, bhttp::status::ok, StatusJson(snap.get(), fe_.index_), "application/json");
    }
    ServiceContext sctx{stub_, fe_.config_, info};
    co_return co_await service_->Handle(req, sctx);
  }

  asio::io_context ctx_{1};
  Frontend& fe_;
  int id_;
  ManagerStub stub_;
  std::unique_ptr<Service> service_;
  http::Server server_;
};

Frontend::Frontend(Config config, ConfigArgs args, uint32_t index, int port)
    : config_(std::move(config)), args_(std::move(args)), index_(index), requested_port_(port) {}

Frontend::~Frontend() {
  Stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // Everything that lives on a shard's io_context goes before the shards.
  link_.reset();
  launcher_.reset();
  shards_.clear();
}

Status Frontend::Start() {
  auto key = ClusterKey::Load(config_.KeyFile());
  if (!key.ok()) return Status::InvalidArgument("cannot start without the cluster key: " + key.status().message());
  key_.emplace(*key);
  auto lock = FileLock::Acquire(fmt::format("{}/frontend-{}.lock", config_.RunDir(), index_));
  if (!lock.ok()) return Status::Unavailable(fmt::format("front end {} of cluster '{}' already runs on this host", index_, config_.cluster.name));
  lock_.emplace(std::move(*lock));
  const ServiceFactory* factory = FindService(config_.frontend.service);
  if (!factory) return Status::InvalidArgument("setting 'frontend.service': no service named '" + config_.frontend.service + "'");
  int threads = config_.frontend.threads > 0 ? config_.frontend.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  shards_.reserve(static_cast<size_t>(threads));
  int port = requested_port_;
  for (int i = 0; i < threads; ++i) {
    auto svc = (*factory)(config_);
    if (!svc.ok()) return svc.status();
    shards_.push_back(std::make_unique<Shard>(*this, i, std::move(*svc)));
    Status s = shards_.back()->server_.Listen(config_.frontend.host, port);
    if (!s.ok()) return s;
    port = shards_.back()->server_.port();  // the others join the port the first got
  }
  port_ = static_cast<uint16_t>(port);
  launcher_ = MakeLocalLauncher(shards_[0]->ctx_);
  wire::Endpoint http;
  http.set_host(config_.frontend.host);
  http.set_port(port_);
  link_ = std::make_unique<ManagerLink>(shards_[0]->ctx_, config_, args_, index_, http, directory_, *launcher_, *key_);
  Status s = link_->Start();
  if (!s.ok()) return s;
  spdlog::info("front end {} listening on http://{}:{}/ ({} threads, service '{}')", index_, config_.frontend.host, port_, threads,
               config_.frontend.service);
  return Status::Ok();
}

void Frontend::Run() {
  for (size_t i = 1; i < shards_.size(); ++i) threads_.emplace_back([s = shards_[i].get()] { s->ctx_.run(); });
  if (!shards_.empty()) shards_[0]->ctx_.run();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Frontend::Stop() {
  for (auto& s : shards_) {
    asio::post(s->ctx_, [sh = s.get(), this] {
      sh->server_.Stop();
      sh->stub_.Stop();
      if (sh->id_ == 0 && link_) link_->Stop();
      sh->ctx_.stop();
    });
  }
}

}  // namespace tacc::sns
