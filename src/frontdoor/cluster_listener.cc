#include "frontdoor/cluster_listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/metrics.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

ClusterListener::ClusterListener(asio::io_context& ctx, const Config::Frontdoor& settings, const int& open, const int& pending, Serve serve)
    : ctx_(ctx), settings_(settings), open_(open), pending_(pending), serve_(std::move(serve)), acceptor_(ctx) {}

ClusterListener::~ClusterListener() { Stop(); }

Status ClusterListener::Start(const std::string& what) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(settings_.address, ec);
  if (ec) return Status::InvalidArgument(fmt::format("setting 'frontdoor.address': '{}' is not an IP address", settings_.address));
  tcp::endpoint endpoint(address, static_cast<uint16_t>(settings_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_FREEBIND>(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(settings_.max_pending, ec);
  if (ec) return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", settings_.address, settings_.port, ec.message()));
  spdlog::info("dispatching ({}) on {}:{}", what, settings_.address, port());
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  return Status::Ok();
}

uint16_t ClusterListener::port() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void ClusterListener::Stop() {
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> ClusterListener::AcceptLoop() {
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
    serve_(std::move(socket));
  }
}

}  // namespace tacc::frontdoor
