#include "frontdoor/standby_link.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

#include "frontdoor/backend.h"
#include "wire/datagram_seal.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
using udp = asio::ip::udp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Result<std::unique_ptr<StandbyLink>> StandbyLink::Open(asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler) {
  auto spec = ParseBackendSpec(config.frontdoor.standby_peer);
  if (!spec.ok()) return Status::InvalidArgument("setting 'frontdoor.standby_peer': " + spec.status().message());
  boost::system::error_code ec;
  auto own = asio::ip::make_address(config.cluster.host, ec);
  if (ec) return Status::InvalidArgument(fmt::format("setting 'cluster.host': '{}' is not an IP address (the heartbeat socket binds it)", config.cluster.host));
  udp::endpoint peer(asio::ip::make_address(spec->host), spec->port);
  udp::socket socket(ctx);
  socket.open(own.is_v4() ? udp::v4() : udp::v6(), ec);
  if (!ec) socket.bind(udp::endpoint(own, spec->port), ec);
  if (ec) return Status::Unavailable(fmt::format("heartbeat socket {}:{}: {}", config.cluster.host, spec->port, ec.message()));
  return std::unique_ptr<StandbyLink>(new StandbyLink(ctx, config, key, std::move(handler), std::move(socket), peer));
}

StandbyLink::StandbyLink(asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler, udp::socket socket, udp::endpoint peer)
    : ctx_(ctx), config_(config), key_(key), handler_(std::move(handler)), socket_(std::move(socket)), peer_(peer) {}

StandbyLink::~StandbyLink() { Stop(); }

void StandbyLink::Start() { asio::co_spawn(ctx_, ReceiveLoop(), asio::detached); }

void StandbyLink::Stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void StandbyLink::SendOne(const wire::DispatchHeartbeat& hb) {
  std::string body;
  hb.SerializeToString(&body);
  std::string datagram = wire::Seal(key_, config_.cluster.name, wire::DATAGRAM_DISPATCH_HEARTBEAT, body, wire::NowUnixMs());
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(datagram), peer_, 0, ec);
  if (!ec) ++counters_.sent;
}

void StandbyLink::Send(wire::DispatchHeartbeat hb) {
  const size_t budget = static_cast<size_t>(config_.beacon.max_datagram_bytes) - wire::SealOverhead(config_.cluster.name) - 64;
  wire::DispatchHeartbeat part;
  part.set_priority(hb.priority());
  part.set_incarnation(hb.incarnation());
  part.set_active(hb.active());
  auto flush = [&] {
    part.set_seq(++seq_);
    SendOne(part);
    part.clear_flows();
    part.clear_backends();
  };
  std::map<uint32_t, uint32_t> index;  // hb backend index -> part backend index
  for (auto& f : hb.flows()) {
    if (f.backend() >= static_cast<uint32_t>(hb.backends_size())) continue;
    auto it = index.find(f.backend());
    if (it == index.end()) {
      it = index.emplace(f.backend(), static_cast<uint32_t>(part.backends_size())).first;
      part.add_backends(hb.backends(static_cast<int>(f.backend())));
    }
    auto* e = part.add_flows();
    *e = f;
    e->set_backend(it->second);
    if (part.ByteSizeLong() > budget) {
      part.mutable_flows()->RemoveLast();
      flush();
      index.clear();
      index.emplace(f.backend(), 0);
      part.add_backends(hb.backends(static_cast<int>(f.backend())));
      auto* again = part.add_flows();
      *again = f;
      again->set_backend(0);
    }
  }
  flush();
}

asio::awaitable<void> StandbyLink::ReceiveLoop() {
  auto alive = alive_;
  std::vector<char> buf(65536);
  while (*alive) {
    udp::endpoint from;
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, kUseTuple);
    if (!*alive) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (from.address() != peer_.address()) {
      ++counters_.refused;
      continue;
    }
    wire::Unsealed out;
    auto outcome = wire::Unseal(key_, config_.cluster.name, std::string_view(buf.data(), n), wire::NowUnixMs(), config_.beacon.freshness_ms,
                                wire::KindBit(wire::DATAGRAM_DISPATCH_HEARTBEAT), &out);
    wire::DispatchHeartbeat hb;
    if (outcome != wire::UnsealOutcome::kOk || !hb.ParseFromString(out.body)) {
      ++counters_.refused;
      continue;
    }
    if (hb.incarnation() == peer_incarnation_ && hb.seq() <= peer_seq_) {  // replayed
      ++counters_.refused;
      continue;
    }
    if (hb.incarnation() < peer_incarnation_) {  // an older incarnation than one already heard
      ++counters_.refused;
      continue;
    }
    peer_incarnation_ = hb.incarnation();
    peer_seq_ = hb.seq();
    ++counters_.received;
    handler_(hb);
  }
}

}  // namespace tacc::frontdoor
