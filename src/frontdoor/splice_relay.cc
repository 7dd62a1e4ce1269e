#include "frontdoor/splice_relay.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cerrno>

namespace tacc::frontdoor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kChunk = 1 << 16;

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
      r = fds[0];
      w = fds[1];
    }
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
  bool ok() const { return r >= 0; }
};

enum class PumpEnd { kEof, kFromFailed, kToFailed };

// One splice of up to `max` bytes from `from` into the pipe, waiting while there is
// nothing to read: the bytes moved, 0 on EOF, -1 on an error.
asio::awaitable<ssize_t> Fill(tcp::socket& from, const Pipe& pipe, size_t max) {
  for (;;) {
    ssize_t n = splice(from.native_handle(), nullptr, pipe.w, nullptr, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) co_return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return -1;
    auto [ec] = co_await from.async_wait(tcp::socket::wait_read, kUseTuple);
    if (ec) co_return -1;
  }
}

// Moves all `left` bytes in the pipe to `to`, waiting while it cannot take them; false
// on an error. `counted` grows with each byte sent.
asio::awaitable<bool> Drain(const Pipe& pipe, tcp::socket& to, size_t left, uint64_t& counted) {
  while (left > 0) {
    ssize_t m = splice(pipe.r, nullptr, to.native_handle(), nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (m < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) co_return false;
      auto [ec] = co_await to.async_wait(tcp::socket::wait_write, kUseTuple);
      if (ec) co_return false;
      continue;
    }
    left -= static_cast<size_t>(m);
    counted += static_cast<uint64_t>(m);
  }
  co_return true;
}

// splice: from -> pipe -> to, until EOF on `from` or an error.
asio::awaitable<PumpEnd> Pump(tcp::socket& from, tcp::socket& to, uint64_t& counted, Clock::time_point& last) {
  Pipe pipe;
  if (!pipe.ok()) co_return PumpEnd::kFromFailed;
  for (;;) {
    ssize_t n = co_await Fill(from, pipe, kChunk);
    if (n == 0) break;
    if (n < 0) co_return PumpEnd::kFromFailed;
    last = Clock::now();
    if (!co_await Drain(pipe, to, static_cast<size_t>(n), counted)) co_return PumpEnd::kToFailed;
    last = Clock::now();
  }
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
  co_return PumpEnd::kEof;
}

// One direction, and on failure the end of both (so the other direction does not wait
// on a peer that will never speak).
asio::awaitable<void> Direction(tcp::socket& from, tcp::socket& to, uint64_t& counted, Clock::time_point& last, bool& to_failed,
                                bool& from_failed) {
  PumpEnd end = co_await Pump(from, to, counted, last);
  if (end == PumpEnd::kEof) co_return;
  if (end == PumpEnd::kToFailed) to_failed = true;
  else from_failed = true;
  boost::system::error_code ignored;
  from.close(ignored);
  to.close(ignored);
}

asio::awaitable<void> Watch(tcp::socket& a, tcp::socket& b, std::chrono::milliseconds idle, Clock::time_point& last, bool& fired) {
  asio::steady_timer timer(a.get_executor());
  for (;;) {
    timer.expires_at(last + idle);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
    if (Clock::now() - last >= idle) break;
  }
  fired = true;
  boost::system::error_code ignored;
  a.close(ignored);
  b.close(ignored);
}

}  // namespace

asio::awaitable<SpliceEnd> SpliceExactly(tcp::socket& from, tcp::socket& to, uint64_t bytes) {
  if (bytes == 0) co_return SpliceEnd::kOk;
  Pipe pipe;
  if (!pipe.ok()) co_return SpliceEnd::kFromFailed;
  boost::system::error_code ec;
  from.native_non_blocking(true, ec);
  to.native_non_blocking(true, ec);
  uint64_t sent = 0;
  while (bytes > 0) {
    ssize_t n = co_await Fill(from, pipe, static_cast<size_t>(std::min<uint64_t>(bytes, kChunk)));
    if (n <= 0) co_return SpliceEnd::kFromFailed;  // an error, or EOF before the end of the body
    if (!co_await Drain(pipe, to, static_cast<size_t>(n), sent)) co_return SpliceEnd::kToFailed;
    bytes -= static_cast<uint64_t>(n);
  }
  co_return SpliceEnd::kOk;
}

asio::awaitable<RelayResult> SpliceRelay(tcp::socket& client, tcp::socket& backend, std::chrono::milliseconds idle_timeout) {
  RelayResult result;
  boost::system::error_code ec;
  client.native_non_blocking(true, ec);
  backend.native_non_blocking(true, ec);
  Clock::time_point last = Clock::now();
  bool client_failed = false, backend_failed = false;
  co_await ((Direction(client, backend, result.client_to_backend, last, backend_failed, client_failed) &&
             Direction(backend, client, result.backend_to_client, last, client_failed, backend_failed)) ||
            Watch(client, backend, idle_timeout, last, result.idle_timeout));
  result.backend_reset = backend_failed && !result.idle_timeout;
  co_return result;
}

}  // namespace tacc::frontdoor
