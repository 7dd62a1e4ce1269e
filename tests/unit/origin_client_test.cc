#include "http/origin_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "async_test_util.h"

namespace tacc::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using tacc::testing::Pause;
using tacc::testing::RunCoroutine;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// An origin on loopback that reads one request head and answers with `reply` (raw
// bytes), after `delay`, then closes; it remembers the request it got.
class CannedOrigin {
 public:
  CannedOrigin(asio::io_context& io, std::string reply, std::chrono::milliseconds delay = 0ms)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), reply_(std::move(reply)), delay_(delay) {
    asio::co_spawn(io, Serve(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::string& request() const { return request_; }

 private:
  asio::awaitable<void> Serve() {
    auto [ec, sock] = co_await acceptor_.async_accept(kTuple);
    if (ec) co_return;
    std::string in;
    auto [rec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in), "\r\n\r\n", kTuple);
    if (rec) co_return;
    request_ = in.substr(0, n);
    if (delay_.count() > 0) co_await Pause(delay_);
    co_await asio::async_write(sock, asio::buffer(reply_), kTuple);
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
  }
  tcp::acceptor acceptor_;
  std::string reply_;
  std::chrono::milliseconds delay_;
  std::string request_;
};

// (No default arguments: GCC 12 mis-compiles string-literal defaults used in coroutines.)
OriginClient Client(OriginLimits limits, const std::vector<std::string>& allowed) {
  auto p = DestinationPolicy::Make(allowed);
  EXPECT_TRUE(p.ok());
  return OriginClient(limits, std::move(*p));
}
OriginClient LoopbackClient(OriginLimits limits) { return Client(limits, std::vector<std::string>{"127.0.0.1/32"}); }
OriginClient LoopbackClient() { return LoopbackClient(OriginLimits{}); }
OriginClient StrictClient() { return Client(OriginLimits{}, std::vector<std::string>{}); }

OriginClient::Request Get() {
  OriginClient::Request r{bhttp::verb::get, "/a.html", 11};
  r.set(bhttp::field::host, "origin.test");
  return r;
}

TEST(OriginClientTest, FetchesAnAnswer) {
  asio::io_context io;
  CannedOrigin origin(io, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello");
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto r = co_await LoopbackClient().Fetch("127.0.0.1", origin.port(), Get());
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->result(), bhttp::status::ok);
    EXPECT_EQ(r->body(), std::string("hello"));
    EXPECT_EQ(std::string((*r)[bhttp::field::content_type]), std::string("text/html"));
  });
  EXPECT_NE(origin.request().find("GET /a.html HTTP/1.1\r\n"), std::string::npos) << origin.request();
  EXPECT_NE(origin.request().find("Host: origin.test\r\n"), std::string::npos) << origin.request();
}

TEST(OriginClientTest, RefusesADestinationThePolicyDoesNotAllowBeforeConnecting) {
  asio::io_context io;
  CannedOrigin origin(io, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto r = co_await StrictClient().Fetch("127.0.0.1", origin.port(), Get());
    CO_ASSERT_TRUE(!r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kForbidden) << r.status().ToString();
    // A name that resolves to loopback is refused alike.
    auto named = co_await StrictClient().Fetch("localhost", origin.port(), Get());
    CO_ASSERT_TRUE(!named.ok());
    EXPECT_EQ(named.status().kind(), ErrorKind::kForbidden) << named.status().ToString();
  });
  EXPECT_TRUE(origin.request().empty()) << "the refused origin was contacted";
}

TEST(OriginClientTest, LyingGarbageSlowAndDeadOriginsGetClearErrors) {
  asio::io_context io;
  CannedOrigin short_body(io, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  CannedOrigin garbage(io, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  CannedOrigin silent(io, "", 0ms);
  CannedOrigin slow(io, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2000ms);
  CannedOrigin big(io, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t dead_port = closed.local_endpoint().port();
  closed.close();
  OriginLimits limits;
  limits.read_timeout_ms = 300;
  limits.max_body_bytes = 1000;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto c = LoopbackClient(limits);
    auto r1 = co_await c.Fetch("127.0.0.1", short_body.port(), Get());
    EXPECT_EQ(r1.status().kind(), ErrorKind::kProtocol) << r1.status().ToString();
    auto r2 = co_await c.Fetch("127.0.0.1", garbage.port(), Get());
    EXPECT_EQ(r2.status().kind(), ErrorKind::kProtocol) << r2.status().ToString();
    auto r3 = co_await c.Fetch("127.0.0.1", silent.port(), Get());
    EXPECT_EQ(r3.status().kind(), ErrorKind::kUnavailable) << r3.status().ToString();
    auto r4 = co_await c.Fetch("127.0.0.1", slow.port(), Get());
    EXPECT_EQ(r4.status().kind(), ErrorKind::kTimeout) << r4.status().ToString();
    auto r5 = co_await c.Fetch("127.0.0.1", big.port(), Get());
    EXPECT_EQ(r5.status().kind(), ErrorKind::kInvalidArgument) << r5.status().ToString();
    auto r6 = co_await c.Fetch("127.0.0.1", dead_port, Get());
    EXPECT_EQ(r6.status().kind(), ErrorKind::kUnavailable) << r6.status().ToString();
  }, 10s);
}

}  // namespace
}  // namespace tacc::http
