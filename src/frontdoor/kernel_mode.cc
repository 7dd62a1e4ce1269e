#include "frontdoor/kernel_mode.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "frontdoor/dead_drop.h"
#include "frontdoor/dsr_datapath.h"
#include "frontdoor/maglev_table.h"
#include "frontdoor/nat_datapath.h"
#include "frontdoor/neighbor_table.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;

KernelMode::KernelMode(asio::io_context& ctx, const Config& config, BackendTable& table, bool own_address)
    : ctx_(ctx), config_(config), table_(table) {
  if (own_address) address_ = std::make_unique<ClusterAddress>(config.frontdoor.address, config.frontdoor.interface);
}

KernelMode::~KernelMode() { Stop(); }

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
  for (size_t i = 0; i < rotation.size(); ++i) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address_v4(rotation[i]->backend.spec.host, ec);
    if (ec) continue;
    auto mac = ResolveNeighbor(interface_, ip, std::chrono::milliseconds(300));
    if (!mac.ok()) {
      spdlog::warn("dsr: back end {} left out: {}", rotation[i]->backend.spec.Id(), mac.status().ToString());
      continue;
    }
    if (rotation[i]->backend.spec.port != config_.frontdoor.port)
      spdlog::warn("dsr: back end {} listens on another port than the cluster's {}: direct routing keeps the port", rotation[i]->backend.spec.Id(),
                   config_.frontdoor.port);
    // One entry per host: dsr forwards by address (the port is the cluster's).
    if (std::any_of(backends.begin(), backends.end(), [&](const DsrBackend& b) { return b.address == ip; })) continue;
    backends.push_back({ip, *mac});
    resolved.push_back(entries[i]);
  }
  auto slots = MaglevTable::Build(resolved, kDsrSlots);
  if (Status s = dsr_->Update(backends, slots); !s.ok()) spdlog::error("dsr: cannot program {} back end(s): {}", backends.size(), s.ToString());
  else spdlog::info("dsr: {} back end(s) in rotation", backends.size());
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
  return h;
}

}  // namespace tacc::frontdoor
