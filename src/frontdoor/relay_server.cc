#include "frontdoor/relay_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"
#include "frontdoor/backend_connector.h"
#include "frontdoor/splice_relay.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

RelayServer::RelayServer(asio::io_context& ctx, const Config::Frontdoor& settings, BackendTable& table, PickPolicy& policy)
    : ctx_(ctx), settings_(settings), table_(table), policy_(policy), acceptor_(ctx) {}

RelayServer::~RelayServer() { Stop(); }

Status RelayServer::Start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(settings_.address, ec);
  if (ec) return Status::InvalidArgument(fmt::format("setting 'frontdoor.address': '{}' is not an IP address", settings_.address));
  tcp::endpoint endpoint(address, static_cast<uint16_t>(settings_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  // A standby of a pair listens before the cluster address is on its host.
  if (!ec) acceptor_.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_FREEBIND>(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(settings_.max_pending, ec);
  if (ec) return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", settings_.address, settings_.port, ec.message()));
  spdlog::info("dispatching (relay) on {}:{}", settings_.address, settings_.port);
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  return Status::Ok();
}

void RelayServer::Stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> RelayServer::AcceptLoop() {
  static Counter& refused = Metrics().counter("tacc_dispatch_refused_total", "Client connections closed at once (frontdoor.max_connections or max_pending)");
  auto alive = alive_;
  while (*alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (!*alive) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      continue;
    }
    if (open_ >= settings_.max_connections || pending_ >= settings_.max_pending) {
      refused.Inc();
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(ctx_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> RelayServer::Serve(tcp::socket client) {
  static Counter& relayed = Metrics().counter("tacc_dispatch_connections_total", "Client connections relayed to a back end");
  static Counter& unserved = Metrics().counter("tacc_dispatch_no_backend_total", "Client connections closed because no back end could be reached");
  auto alive = alive_;
  ++open_;
  ++pending_;
  boost::system::error_code ec;
  auto remote = client.remote_endpoint(ec);
  PickContext pick;
  pick.client = remote.address();
  pick.client_port = remote.port();
  pick.now = PolicyClock::now();
  auto connected = co_await ConnectToBackend(table_, policy_, pick, std::chrono::milliseconds(settings_.connect_timeout_ms), 3);
  --pending_;
  if (!*alive) co_return;
  if (!connected.ok()) {
    unserved.Inc();
    spdlog::debug("{}: {}", remote.address().to_string(), connected.status().ToString());
    --open_;
    co_return;
  }
  auto backend = std::move(connected).value();
  relayed.Inc();
  co_await SpliceRelay(client, backend.socket, std::chrono::milliseconds(settings_.idle_timeout_ms));
  if (!*alive) co_return;
  table_.Closed(backend.id);
  policy_.Done(backend.id);
  --open_;
}

}  // namespace tacc::frontdoor
