#include "frontdoor/kernel_mode.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "frontdoor/connection_rebuild.h"
#include "frontdoor/dead_drop.h"
#include "frontdoor/dsr_datapath.h"
#include "frontdoor/maglev_table.h"
#include "frontdoor/nat_datapath.h"
#include "frontdoor/neighbor_table.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;

KernelMode::KernelMode(asio::io_context& ctx, const Config& config, BackendTable& table, bool own_address, wire::ClusterAuthPtr auth,
                       AdminOf admin_of)
    : ctx_(ctx), config_(config), table_(table), auth_(std::move(auth)), admin_of_(std::move(admin_of)) {
  if (own_address) address_ = std::make_unique<ClusterAddress>(config.frontdoor.address, config.frontdoor.interface);
}

KernelMode::~KernelMode() {
  *alive_ = false;
  Stop();
}

namespace {
NatChoice ChoiceFor(const Config::Frontdoor& fd) {
  if (fd.policy == "source_hash") return NatChoice::kHashSource;
  if (fd.policy == "random" && fd.failover_state != "stateless") return NatChoice::kRandom;
  if (fd.policy == "round_robin" && fd.failover_state != "stateless") return NatChoice::kRoundRobin;
  return NatChoice::kHash5Tuple;
}

// Table names are [a-z0-9_]: the cluster's name and the port.
std::string NatName(const Config& c) {
  std::string n;
  for (char ch : c.cluster.name) n += std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch))) : '_';
  n = n.substr(0, 16) + "_" + std::to_string(c.frontdoor.port);
  return n;
}
}  // namespace

Status KernelMode::Start() {
  auto& fd = config_.frontdoor;
  boost::system::error_code ec;
  auto vip = asio::ip::make_address_v4(fd.address, ec);
  if (ec) return Status::InvalidArgument(fmt::format("setting 'frontdoor.address': {} mode needs an IPv4 address, not '{}'", fd.mode, fd.address));
  interface_ = fd.interface.empty() ? ClusterAddress::InterfaceFor(fd.address) : fd.interface;
  if (interface_.empty()) return Status::InvalidArgument("setting 'frontdoor.interface': no interface found for " + fd.address + "; name one");
  if (fd.mode == "dsr") {
    DsrDatapath::Options o;
    o.interface = interface_;
    o.address = vip;
    o.port = static_cast<uint16_t>(fd.port);
    o.syn_rate = fd.syn_rate;
    auto dp = DsrDatapath::Attach(o);
    if (!dp.ok()) return dp.status();
    dsr_ = std::move(dp).value();
    auto guard = DeadDrop::Install(NatName(config_), fd.address, fd.port);
    if (!guard.ok()) return guard.status();
    dead_drop_ = std::move(guard).value();
    spdlog::info("dispatching (dsr, L4/2) {}:{} on {} with a tc-BPF program ({} hook)", fd.address, fd.port, interface_, ToString(dsr_->hook()));
  } else {
    NatDatapath::Options o;
    o.name = NatName(config_);
    o.vip = fd.address;
    o.port = static_cast<uint16_t>(fd.port);
    o.interface = interface_;
    o.choice = ChoiceFor(fd);
    o.syn_rate = fd.syn_rate;
    auto dp = NatDatapath::Create(o);
    if (!dp.ok()) return dp.status();
    nat_ = std::move(dp).value();
    spdlog::info("dispatching (nat, L4/3) {}:{} on {} with nftables table {} ({})", fd.address, fd.port, interface_, nat_->table(), ToString(o.choice));
  }
  if (address_) {
    if (Status s = address_->Claim(); !s.ok()) return s;
  }
  table_.OnRotationChange([this] { asio::post(ctx_, [this] { Reprogram(); }); });
  Reprogram();
  return Status::Ok();
}

void KernelMode::Stop() {
  table_.OnRotationChange(nullptr);
  if (address_) (void)address_->Release();
  dsr_.reset();
  nat_.reset();
  dead_drop_.reset();
}

void KernelMode::Reprogram() {
  if (!dsr_ && !nat_) return;
  if (table_.generation() == programmed_generation_) return;
  programmed_generation_ = table_.generation();
  auto rotation = table_.Rotation();
  const bool by_load = config_.frontdoor.policy == "load_weighted";
  std::vector<MaglevEntry> entries;
  std::vector<BackendSpec> specs;
  for (auto* b : rotation) {
    double w = b->backend.spec.weight;
    if (by_load && b->backend.load >= 0) w /= 1.0 + b->backend.load;
    entries.push_back({b->backend.spec.Id(), w});
    specs.push_back(b->backend.spec);
  }
  if (nat_) {
    auto slots = MaglevTable::Build(entries, kNatSlots);
    if (Status s = nat_->Update(specs, slots); !s.ok()) spdlog::error("nat: cannot program {} back end(s): {}", specs.size(), s.ToString());
    else spdlog::info("nat: {} back end(s) in rotation", specs.size());
    return;
  }
  // dsr: frames go to each back end's MAC; one that cannot be resolved is left out.
  std::vector<DsrBackend> backends;
  std::vector<MaglevEntry> resolved;
  std::map<asio::ip::address_v4, std::string> unresolved;
  for (size_t i = 0; i < rotation.size(); ++i) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address_v4(rotation[i]->backend.spec.host, ec);
    if (ec) continue;
    auto mac = LookupNeighbor(interface_, ip);
    if (!mac.ok()) {
      spdlog::warn("dsr: back end {} left out: {}", rotation[i]->backend.spec.Id(), mac.status().ToString());
      continue;
    }
    if (!*mac) {  // not in the neighbour table: left out until resolved
      unresolved.emplace(ip, rotation[i]->backend.spec.Id());
      continue;
    }
    if (rotation[i]->backend.spec.port != config_.frontdoor.port)
      spdlog::warn("dsr: back end {} listens on another port than the cluster's {}: direct routing keeps the port", rotation[i]->backend.spec.Id(),
                   config_.frontdoor.port);
    // One entry per host: dsr forwards by address (the port is the cluster's).
    if (std::any_of(backends.begin(), backends.end(), [&](const DsrBackend& b) { return b.address == ip; })) continue;
    backends.push_back({ip, **mac});
    resolved.push_back(entries[i]);
  }
  auto slots = MaglevTable::Build(resolved, kDsrSlots);
  if (Status s = dsr_->Update(backends, slots); !s.ok()) spdlog::error("dsr: cannot program {} back end(s): {}", backends.size(), s.ToString());
  else spdlog::info("dsr: {} back end(s) in rotation", backends.size());
  if (!unresolved.empty()) ResolveInBackground(unresolved);
}

void KernelMode::ResolveInBackground(const std::map<asio::ip::address_v4, std::string>& ips) {
  std::vector<asio::ip::address_v4> asked;
  for (auto& [ip, id] : ips) {
    if (!resolving_.insert(ip).second) continue;  // already being resolved
    spdlog::info("dsr: back end {} waits for its MAC address (ARP)", id);
    asked.push_back(ip);
  }
  if (asked.empty()) return;
  asio::post(resolver_, [this, asked, ids = ips, interface = interface_, alive = alive_] {
    // Each result goes back to the event loop as it comes.
    auto report = [&](asio::ip::address_v4 ip, const Status& status) {
      auto it = ids.find(ip);
      std::string id = it == ids.end() ? ip.to_string() : it->second;
      asio::post(ctx_, [this, ip, id, status, alive] {
        if (!*alive) return;
        resolving_.erase(ip);
        if (!status.ok()) {
          spdlog::warn("dsr: back end {} left out: {}", id, status.ToString());
          return;
        }
        programmed_generation_ = ~uint64_t{0};  // the same rotation, one more MAC
        Reprogram();
      });
    };
    std::set<asio::ip::address_v4> pending(asked.begin(), asked.end());
    Status s = ResolveNeighbors(interface, asked, kResolveTimeout, [&](asio::ip::address_v4 ip, Result<MacAddress> mac) {
      pending.erase(ip);
      report(ip, mac.ok() ? Status::Ok() : mac.status());
    });
    for (auto& ip : pending) report(ip, s);
  });
}

Failover::Hooks KernelMode::hooks() {
  Failover::Hooks h;
  h.new_flows = [this](wire::DispatchHeartbeat& hb) {
    std::map<std::string, uint32_t> index;
    auto add = [&](const std::string& client, uint16_t port, const std::string& backend) {
      auto [it, added] = index.emplace(backend, static_cast<uint32_t>(hb.backends_size()));
      if (added) hb.add_backends(backend);
      auto* f = hb.add_flows();
      f->set_client(client);
      f->set_client_port(port);
      f->set_backend(it->second);
    };
    if (dsr_) {
      auto conns = dsr_->DumpConnections();
      if (conns.ok())
        for (auto& c : *conns) add(c.client.to_string(), c.client_port, c.backend.to_string());
    } else if (nat_) {
      auto conns = nat_->Connections();
      if (conns.ok())
        for (auto& c : *conns) add(c.client, c.client_port, fmt::format("{}:{}", c.backend, c.backend_port));
    }
  };
  h.take_flows = [this](const wire::DispatchHeartbeat& hb) {
    if (dsr_) {
      std::vector<DsrConnEntry> entries;
      for (auto& f : hb.flows()) {
        if (f.backend() >= static_cast<uint32_t>(hb.backends_size())) continue;  // a peer's index is checked like any input
        boost::system::error_code e1, e2;
        DsrConnEntry e;
        e.client = asio::ip::make_address_v4(f.client(), e1);
        e.client_port = static_cast<uint16_t>(f.client_port());
        e.backend = asio::ip::make_address_v4(hb.backends(static_cast<int>(f.backend())), e2);
        if (!e1 && !e2 && f.client_port() <= 65535) entries.push_back(e);
      }
      (void)dsr_->LoadConnections(entries);
    } else if (nat_) {
      std::vector<NatConn> conns;
      for (auto& f : hb.flows()) {
        if (f.backend() >= static_cast<uint32_t>(hb.backends_size())) continue;
        auto spec = ParseBackendSpec(hb.backends(static_cast<int>(f.backend())));
        if (!spec.ok() || f.client_port() > 65535) continue;
        NatConn c;
        c.client = f.client();
        c.client_port = static_cast<uint16_t>(f.client_port());
        c.backend = spec->host;
        c.backend_port = spec->port;
        conns.push_back(c);
      }
      (void)nat_->Restore(conns);
    }
  };
  if (config_.frontdoor.failover_state == "rebuild") {
    h.new_flows = nullptr;
    h.take_flows = nullptr;
    h.on_active = [this] { asio::co_spawn(ctx_, RebuildFromFrontends(), asio::detached); };
  } else if (config_.frontdoor.failover_state != "replicated") {
    h.new_flows = nullptr;
    h.take_flows = nullptr;
  }
  return h;
}

asio::awaitable<void> KernelMode::RebuildFromFrontends() {
  auto alive = alive_;
  auto& fd = config_.frontdoor;
  std::vector<RebuildSource> sources;
  std::map<std::string, BackendSpec> spec_of;
  size_t not_asked = 0;
  for (auto* b : table_.Rotation()) {
    const auto& spec = b->backend.spec;
    auto admin = admin_of_ ? admin_of_(spec.Id()) : std::nullopt;
    if (!admin) {
      ++not_asked;
      spdlog::warn("rebuild: back end {} is not a tacc front end known from the beacons: its connections cannot be asked for", spec.Id());
      continue;
    }
    RebuildSource src;
    src.backend_id = spec.Id();
    src.admin_host = admin->first;
    src.admin_port = admin->second;
    // nat: connections reach the front end at its own address; dsr: at the cluster's.
    src.local_host = nat_ ? spec.host : fd.address;
    src.local_port = nat_ ? spec.port : static_cast<uint16_t>(fd.port);
    spec_of[src.backend_id] = spec;
    sources.push_back(std::move(src));
  }
  RebuildLimits limits;
  limits.timeout = std::chrono::milliseconds(fd.rebuild_timeout_ms);
  limits.max_connections = static_cast<uint32_t>(fd.rebuild_max_connections);
  auto started = std::chrono::steady_clock::now();
  auto auth = auth_;
  auto answers = co_await GatherConnections(std::move(auth), std::move(sources), limits);
  if (!*alive || (!nat_ && !dsr_)) co_return;
  std::vector<NatConn> nat_conns;
  std::vector<DsrConnEntry> dsr_conns;
  size_t answered = 0;
  for (auto& a : answers) {
    if (!a.status.ok()) {
      spdlog::warn("rebuild: front end {} (admin {}:{}): {}", a.source.backend_id, a.source.admin_host, a.source.admin_port, a.status.ToString());
      continue;
    }
    ++answered;
    if (a.truncated)
      spdlog::warn("rebuild: front end {} holds more than frontdoor.rebuild_max_connections ({}); the rest are not rebuilt", a.source.backend_id,
                   fd.rebuild_max_connections);
    const auto& spec = spec_of[a.source.backend_id];
    for (auto& c : a.connections) {
      if (!c.client.is_v4()) continue;
      if (nat_) {
        NatConn n;
        n.client = c.client.to_string();
        n.client_port = c.client_port;
        n.backend = spec.host;
        n.backend_port = spec.port;
        n.client_wscale = c.client_wscale;
        n.backend_wscale = c.server_wscale;
        nat_conns.push_back(std::move(n));
      } else {
        boost::system::error_code ec;
        DsrConnEntry e;
        e.client = c.client.to_v4();
        e.client_port = c.client_port;
        e.backend = asio::ip::make_address_v4(spec.host, ec);
        if (!ec) dsr_conns.push_back(e);
      }
    }
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (nat_) {
    auto r = nat_->Restore(nat_conns);
    if (!r.ok())
      spdlog::error("rebuild: restoring {} connection(s) into conntrack: {}", nat_conns.size(), r.status().ToString());
    else
      spdlog::warn("rebuild: {} of {} front end(s) answered in {} ms ({} not asked); {} connection(s): {} created, {} replaced, {} already known, {} skipped",
                   answered, answers.size(), took, not_asked, nat_conns.size(), r->created, r->replaced, r->unchanged, r->skipped);
  } else {
    auto r = dsr_->LoadConnections(dsr_conns);
    if (!r.ok())
      spdlog::error("rebuild: loading {} connection(s) into the connection map: {}", dsr_conns.size(), r.status().ToString());
    else
      spdlog::warn("rebuild: {} of {} front end(s) answered in {} ms ({} not asked); {} connection(s), {} loaded", answered, answers.size(), took,
                   not_asked, dsr_conns.size(), *r);
  }
}

}  // namespace tacc::frontdoor
