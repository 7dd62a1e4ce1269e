#include "http/tunnel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <vector>

namespace tacc::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {
// Copies from `from` to `to` until `from` ends or fails; then half-closes `to`.
asio::awaitable<void> Pump(tcp::socket& from, tcp::socket& to, size_t buffer_bytes, uint64_t& counted, Clock::time_point& last_activity) {
  std::vector<char> buf(buffer_bytes);
  boost::system::error_code ignored;
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), kUseTuple);
    if (n > 0) {
      last_activity = Clock::now();
      auto [wec, wn] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kUseTuple);
      counted += wn;
      if (wec) rec = wec;
      last_activity = Clock::now();
    }
    if (rec == asio::error::eof) break;  // an orderly end of this direction: half-close
    if (rec) {
      // Reset, or closed under us (the server stopping): the whole tunnel ends, so the
      // other direction does not wait on a peer that will never speak.
      from.close(ignored);
      to.close(ignored);
      co_return;
    }
  }
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> Watch(tcp::socket& a, tcp::socket& b, std::chrono::milliseconds idle, Clock::time_point& last_activity, bool& fired) {
  asio::steady_timer timer(a.get_executor());
  for (;;) {
    timer.expires_at(last_activity + idle);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;  // cancelled: the tunnel ended
    if (Clock::now() - last_activity >= idle) break;
  }
  fired = true;
  boost::system::error_code ignored;
  a.close(ignored);
  b.close(ignored);
}
}  // namespace

asio::awaitable<TunnelResult> RelayTunnel(tcp::socket& client, boost::beast::flat_buffer& client_unread, tcp::socket& origin,
                                          std::chrono::milliseconds idle_timeout, size_t buffer_bytes) {
  TunnelResult result;
  if (client_unread.size() > 0) {
    auto [ec, n] = co_await asio::async_write(origin, client_unread.data(), kUseTuple);
    result.client_to_origin += n;
    client_unread.consume(client_unread.size());
    if (ec) co_return result;
  }
  Clock::time_point last = Clock::now();
  co_await ((Pump(client, origin, buffer_bytes, result.client_to_origin, last) && Pump(origin, client, buffer_bytes, result.origin_to_client, last)) ||
            Watch(client, origin, idle_timeout, last, result.idle_timeout));
  co_return result;
}

}  // namespace tacc::http
