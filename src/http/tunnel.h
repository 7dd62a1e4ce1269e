// Tunnel: relays bytes both ways between a client and an origin, untouched (the proxy's
// CONNECT, issue 7: HTTPS can't be transformed but must still work).
//
// Each direction copies through a buffer of its own (so a tunnel holds two of them,
// whatever it carries); when one side ends its sending, the other side's sending half
// is shut down and the other direction goes on until it ends too (half-close). A tunnel
// with no byte either way for idle_timeout is closed.
//
// Thread safety: both sockets on the caller's event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>

namespace tacc::http {

struct TunnelResult {
  uint64_t client_to_origin = 0;  // bytes
  uint64_t origin_to_client = 0;
  bool idle_timeout = false;
};

// `client_unread`: bytes the client sent before the tunnel began (sent on first).
boost::asio::awaitable<TunnelResult> RelayTunnel(boost::asio::ip::tcp::socket& client, boost::beast::flat_buffer& client_unread,
                                                 boost::asio::ip::tcp::socket& origin, std::chrono::milliseconds idle_timeout,
                                                 size_t buffer_bytes = 16 * 1024);

}  // namespace tacc::http
