#include "sns/beacon_listener.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/metrics.h"

namespace tacc::sns {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Result<std::unique_ptr<BeaconListener>> BeaconListener::Open(asio::io_context& ctx, const Config& config, Handler handler) {
  Result<wire::udp::socket> sock = config.beacon.mode == "multicast"
      ? wire::OpenMulticastReceiver(ctx.get_executor(), config.beacon.group, config.beacon.port, config.beacon.interface)
      : wire::OpenUnicastSocket(ctx.get_executor(), config.cluster.host, 0);
  if (!sock.ok()) return sock.status();
  return std::unique_ptr<BeaconListener>(new BeaconListener(ctx, config, std::move(handler), std::move(*sock)));
}

BeaconListener::BeaconListener(asio::io_context& ctx, const Config& config, Handler handler, wire::udp::socket socket)
    : ctx_(ctx), config_(config), handler_(std::move(handler)), socket_(std::move(socket)), alive_(std::make_shared<bool>(true)) {}

BeaconListener::~BeaconListener() { Stop(); }

void BeaconListener::Start() {
  asio::co_spawn(ctx_, ReceiveLoop(), asio::detached);
  if (config_.beacon.mode == "unicast") asio::co_spawn(ctx_, SubscribeLoop(), asio::detached);
}

void BeaconListener::Stop() {
  *alive_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> BeaconListener::ReceiveLoop() {
  static Counter& dropped = Metrics().counter("tacc_beacons_dropped_total", "Datagrams on the beacon port that were not beacons of this cluster");
  auto alive = alive_;
  std::vector<char> buf(wire::kMaxDatagramBytes);
  while (*alive) {
    wire::udp::endpoint from;
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, kUseTuple);
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    wire::Datagram dg;
    if (!dg.ParseFromArray(buf.data(), static_cast<int>(n)) || !dg.has_beacon() || dg.beacon().cluster() != config_.cluster.name) {
      dropped.Inc();
      continue;
    }
    handler_(dg.beacon());
  }
}

asio::awaitable<void> BeaconListener::SubscribeLoop() {
  auto alive = alive_;
  std::vector<wire::udp::endpoint> seeds;
  auto seed_names = config_.beacon.unicast_seeds;
  if (seed_names.empty()) seed_names.push_back(config_.cluster.host + ":" + std::to_string(config_.beacon.port));
  for (auto& s : seed_names) {
    auto ep = wire::ParseUdpEndpoint(s);
    if (ep.ok()) seeds.push_back(*ep);
    else spdlog::error("beacon.unicast_seeds: {}", ep.status().ToString());
  }
  wire::Datagram dg;
  dg.mutable_subscribe()->set_cluster(config_.cluster.name);
  boost::system::error_code ec;
  auto local = socket_.local_endpoint(ec);
  dg.mutable_subscribe()->mutable_reply_to()->set_host(config_.cluster.host);
  dg.mutable_subscribe()->mutable_reply_to()->set_port(local.port());
  std::string bytes = dg.SerializeAsString();
  asio::steady_timer timer(ctx_);
  while (*alive) {
    for (auto& s : seeds) socket_.send_to(asio::buffer(bytes), s, 0, ec);  // UDP: never blocks long
    timer.expires_after(std::chrono::milliseconds(std::max(50, config_.beacon.subscription_ttl_ms / 3)));
    co_await timer.async_wait(kUseTuple);
  }
}

}  // namespace tacc::sns
