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
    : ctx_(ctx),
      settings_(settings),
      table_(table),
      policy_(policy),
      listener_(ctx, settings, open_, pending_, [this](tcp::socket s) { asio::co_spawn(ctx_, Serve(std::move(s)), asio::detached); }) {}

RelayServer::~RelayServer() { Stop(); }

Status RelayServer::Start() { return listener_.Start("relay"); }

void RelayServer::Stop() {
  *alive_ = false;
  listener_.Stop();
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
  TakeIdle none;
  auto connected = co_await ConnectToBackend(table_, policy_, pick, std::chrono::milliseconds(settings_.connect_timeout_ms), 3, none);
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
