#include "frontdoor/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "common/cluster_key.h"
#include "frontdoor/http_router.h"
#include "frontdoor/kernel_mode.h"
#include "frontdoor/relay_server.h"
#include "sns/beacon_listener.h"
#include "wire/cluster.pb.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;

Dispatcher::Dispatcher(const Config& config)
    : config_(config), table_(config.frontdoor.health_rise, config.frontdoor.health_fall) {}

Dispatcher::~Dispatcher() {
  if (failover_) failover_->Stop();
  if (mode_) mode_->Stop();
  if (health_) health_->Stop();
  if (beacons_) beacons_->Stop();
}

Status Dispatcher::LoadStaticBackends() {
  std::vector<BackendSpec> specs;
  for (auto& text : config_.frontdoor.backends) {
    auto spec = ParseBackendSpec(text);
    if (!spec.ok()) return Status::InvalidArgument("setting 'frontdoor.backends': " + spec.status().message());
    specs.push_back(*spec);
  }
  table_.SetFrom(kFromConfig, specs);
  return Status::Ok();
}

void Dispatcher::OnBeacon(const wire::Beacon& beacon) {
  std::vector<BackendSpec> specs;
  std::vector<std::pair<std::string, double>> loads;
  std::map<std::string, std::pair<std::string, uint16_t>> admins;
  for (auto& fe : beacon.frontends()) {
    BackendSpec spec;
    spec.host = fe.http().host();
    boost::system::error_code ec;
    auto address = asio::ip::make_address(spec.host, ec);
    // A front end bound to a wildcard is reached at the address its manager connection
    // came from (seen by the manager, not claimed by the front end).
    if (ec || address.is_unspecified()) spec.host = fe.peer_host();
    address = asio::ip::make_address(spec.host, ec);
    if (ec || address.is_unspecified() || fe.http().port() == 0 || fe.http().port() > 65535) continue;
    spec.host = address.to_string();
    spec.port = static_cast<uint16_t>(fe.http().port());
    specs.push_back(spec);
    // Its admin listener (failover_state "rebuild" asks it there): a wildcard means the
    // front end's own host; loopback on another host is out of the dispatcher's reach.
    auto admin = asio::ip::make_address(fe.admin().host(), ec);
    if (!ec && fe.admin().port() > 0 && fe.admin().port() <= 65535) {
      std::string admin_host = admin.is_unspecified() ? spec.host : admin.to_string();
      if (admin.is_loopback() && !address.is_loopback()) {
        if (warned_admin_.insert(spec.Id()).second)
          spdlog::warn("front end {} has its admin listener on loopback ({}): a dispatcher on another host cannot ask it for its connections "
                       "(set frontend.admin_host to an address of its host)",
                       spec.Id(), admin.to_string());
      } else {
        admins[spec.Id()] = {admin_host, static_cast<uint16_t>(fe.admin().port())};
      }
    }
    loads.emplace_back(spec.Id(), static_cast<double>(fe.open_connections()));
  }
  table_.SetFrom(kFromBeacon, specs);
  for (auto& [id, load] : loads) table_.SetLoad(id, load);
  admin_of_ = std::move(admins);
}

Status Dispatcher::Start() {
  auto& fd = config_.frontdoor;
  auto policy = MakePickPolicy(fd, std::random_device{}());
  if (!policy.ok()) return policy.status();
  policy_ = std::move(policy).value();
  if (Status s = LoadStaticBackends(); !s.ok()) return s;
  auto key = ClusterKey::Load(config_.KeyFile());
  if (fd.failover_state == "rebuild" && !fd.standby_peer.empty() && fd.mode != "relay" && fd.mode != "l7" && !fd.from_beacons)
    spdlog::warn("frontdoor.failover_state is 'rebuild' but frontdoor.from_beacons is off: only tacc front ends known from the beacons can be "
                 "asked for their connections, so none will be");
  if (!fd.standby_peer.empty() && !key.ok())
    return Status::Unavailable(fmt::format("frontdoor.standby_peer is set but the cluster key cannot be read ({}); the pair's heartbeats are signed with it",
                                           key.status().ToString()));
  if (fd.from_beacons) {
    if (!key.ok()) {
      if (fd.backends.empty())
        return Status::Unavailable(fmt::format("frontdoor.from_beacons is on but the cluster key cannot be read ({}); give the cluster's key "
                                               "(cluster.key_file) or static back ends (frontdoor.backends)",
                                               key.status().ToString()));
      spdlog::warn("not joining the cluster's beacons: {}; static back ends only", key.status().ToString());
    } else {
      auto listener = sns::BeaconListener::Open(ctx_, config_, *key, [this](const wire::Beacon& b) { OnBeacon(b); });
      if (!listener.ok()) return listener.status();
      beacons_ = std::move(listener).value();
      beacons_->Start();
    }
  }
  Failover::Hooks hooks;  // the kernel modes' failover state; relay and l7 have none to keep
  if (fd.mode == "relay") {
    mode_ = std::make_unique<RelayServer>(ctx_, fd, table_, *policy_);
  } else if (fd.mode == "l7") {
    mode_ = std::make_unique<HttpRouter>(ctx_, config_, table_, *policy_);
  } else {
    wire::ClusterAuthPtr auth;
    if (key.ok()) auth = std::make_shared<wire::ClusterAuth>(wire::ClusterAuth{config_.cluster.name, *key});
    auto kernel = std::make_unique<KernelMode>(ctx_, config_, table_, fd.standby_peer.empty(), auth,
                                               [this](const std::string& id) -> std::optional<std::pair<std::string, uint16_t>> {
                                                 auto it = admin_of_.find(id);
                                                 if (it == admin_of_.end()) return std::nullopt;
                                                 return it->second;
                                               });
    hooks = kernel->hooks();
    mode_ = std::move(kernel);
  }
  if (Status s = mode_->Start(); !s.ok()) return s;
  if (!fd.standby_peer.empty()) {
    failover_ = std::make_unique<Failover>(ctx_, config_, *key, hooks);
    if (Status s = failover_->Start(); !s.ok()) return s;
  }
  health_ = std::make_unique<HealthChecker>(ctx_, fd, table_);
  health_->Start();
  spdlog::info("dispatcher started: mode {}, policy {}, {} static back end(s){}", fd.mode, policy_->name(), fd.backends.size(),
               beacons_ ? ", front ends from the beacons" : "");
  return Status::Ok();
}

void Dispatcher::Run() {
  auto guard = asio::make_work_guard(ctx_);
  ctx_.run();
}

void Dispatcher::Stop() {
  asio::post(ctx_, [this] {
    if (failover_) failover_->Stop();
    if (mode_) mode_->Stop();
    if (health_) health_->Stop();
    if (beacons_) beacons_->Stop();
    ctx_.stop();
  });
}

}  // namespace tacc::frontdoor
