#include "frontdoor/health_checker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

namespace tacc::frontdoor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

HealthChecker::HealthChecker(asio::io_context& ctx, const Config::Frontdoor& settings, BackendTable& table)
    : ctx_(ctx), settings_(settings), table_(table) {}

HealthChecker::~HealthChecker() { Stop(); }

void HealthChecker::Start() { asio::co_spawn(ctx_, Loop(), asio::detached); }

void HealthChecker::Stop() { *alive_ = false; }

namespace {
asio::awaitable<bool> Probe(tcp::socket& socket, tcp::endpoint endpoint, std::string path, std::string host_header) {
  auto [ec] = co_await socket.async_connect(endpoint, kUseTuple);
  if (ec) co_return false;
  if (path.empty()) co_return true;
  std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: tacc-dispatch-health\r\n\r\n", path, host_header);
  auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(request), kUseTuple);
  if (wec) co_return false;
  asio::streambuf status_line(4096);
  auto [rec, rn] = co_await asio::async_read_until(socket, status_line, "\r\n", kUseTuple);
  if (rec) co_return false;
  std::string line(asio::buffers_begin(status_line.data()), asio::buffers_begin(status_line.data()) + static_cast<std::ptrdiff_t>(rn));
  // "HTTP/1.x NNN ..."
  if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0) co_return false;
  char cls = line[9];
  co_return cls == '2' || cls == '3';
}

asio::awaitable<void> Expire(asio::steady_timer& timer) { co_await timer.async_wait(kUseTuple); }
}  // namespace

asio::awaitable<bool> HealthChecker::CheckOnce(BackendSpec spec, std::string path, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(spec.host, ec);
  if (ec) co_return false;
  tcp::socket socket(ex);
  asio::steady_timer timer(ex, timeout);
  tcp::endpoint endpoint(address, spec.port);
  std::string host_header = spec.Id();
  auto result = co_await (Probe(socket, endpoint, std::move(path), std::move(host_header)) || Expire(timer));
  co_return result.index() == 0 && std::get<0>(result);
}

asio::awaitable<void> HealthChecker::CheckAndReport(BackendSpec spec) {
  auto alive = alive_;
  bool ok = co_await CheckOnce(spec, settings_.health_path, std::chrono::milliseconds(settings_.health_timeout_ms));
  if (!*alive) co_return;
  ++checks_;
  if (ok) table_.ReportSuccess(spec.Id());
  else table_.ReportFailure(spec.Id());
}

asio::awaitable<void> HealthChecker::Loop() {
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  while (*alive) {
    for (auto& [id, b] : table_.all()) asio::co_spawn(ctx_, CheckAndReport(b.backend.spec), asio::detached);
    timer.expires_after(std::chrono::milliseconds(settings_.health_interval_ms));
    co_await timer.async_wait(kUseTuple);
  }
}

}  // namespace tacc::frontdoor
