#include "http/origin_client.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <filesystem>
#include <fstream>

#include "async_test_util.h"
#include "test_ca.h"
#include "test_origin.h"

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

// (No default arguments: GCC 12 mis-compiles string-literal defaults used in coroutines,
// and destroys aggregate temporaries made inside a co_await expression twice.)
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

// ---------------------------------------------------------------- pool, streaming, TLS

using tacc::testing::OkAnswer;
using tacc::testing::OriginAnswer;
using tacc::testing::TestOrigin;

TEST(OriginClientTest, AKeptConnectionCarriesTheNextRequest) {
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("hello", "text/plain", ""); });
  asio::io_context io;
  auto c = LoopbackClient();
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto r = co_await c.Fetch("127.0.0.1", origin.port(), Get());
      CO_ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->body(), std::string("hello"));
    }
  });
  EXPECT_EQ(origin.connections(), 1);
  EXPECT_EQ(c.pool().counters().reused, 2u);
  EXPECT_EQ(c.pool().counters().opened, 1u);
  EXPECT_EQ(c.pool().idle_connections(), 1);
}

TEST(OriginClientTest, AConnectionTheOriginClosedIsNotReused) {
  // The origin says nothing of closing, but closes after each answer.
  TestOrigin origin([](const TestOrigin::Request&) {
    OriginAnswer a = OkAnswer("hi", "text/plain", "");
    a.close = true;
    return a;
  });
  asio::io_context io;
  auto c = LoopbackClient();
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto r1 = co_await c.Fetch("127.0.0.1", origin.port(), Get());
    CO_ASSERT_TRUE(r1.ok());
    co_await tacc::testing::Pause(100ms);  // the close reaches us
    auto r2 = co_await c.Fetch("127.0.0.1", origin.port(), Get());
    CO_ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->body(), std::string("hi"));
  });
  EXPECT_EQ(origin.connections(), 2);
}

TEST(OriginClientTest, RequestsOverThePerOriginLimitWaitForAConnection) {
  TestOrigin origin([](const TestOrigin::Request&) {
    OriginAnswer a = OkAnswer("slow", "text/plain", "");
    a.delay = 150ms;
    return a;
  });
  asio::io_context io;
  OriginLimits limits;
  limits.pool.max_per_origin = 1;
  auto c = LoopbackClient(limits);
  int ok = 0;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tacc::testing::Event second_done(ex);
    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
      auto r = co_await c.Fetch("127.0.0.1", origin.port(), Get());
      if (r.ok()) ++ok;
      second_done.Set();
    }, asio::detached);
    auto r = co_await c.Fetch("127.0.0.1", origin.port(), Get());
    if (r.ok()) ++ok;
    co_await second_done.Wait(3s);
  });
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(c.pool().counters().waited, 1u);
  EXPECT_EQ(origin.connections(), 1) << "the limit of one connection was not kept";
}

TEST(OriginClientTest, AWaitForAConnectionEndsAtTheConnectDeadline) {
  TestOrigin origin([](const TestOrigin::Request&) {
    OriginAnswer a = OkAnswer("slow", "text/plain", "");
    a.delay = 600ms;
    return a;
  });
  asio::io_context io;
  OriginLimits limits;
  limits.pool.max_per_origin = 1;
  limits.connect_timeout_ms = 100;
  auto c = LoopbackClient(limits);
  Status second = Status::Ok();
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tacc::testing::Event first_done(ex);
    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
      co_await c.Fetch("127.0.0.1", origin.port(), Get());
      first_done.Set();
    }, asio::detached);
    co_await tacc::testing::Pause(20ms);
    auto r = co_await c.Fetch("127.0.0.1", origin.port(), Get());
    second = r.ok() ? Status::Ok() : r.status();
    co_await first_done.Wait(3s);
  });
  EXPECT_EQ(second.kind(), ErrorKind::kTimeout) << second.ToString();
  EXPECT_EQ(c.pool().counters().wait_timeouts, 1u);
}

TEST(OriginClientTest, ABodyStreamsInBoundedPiecesAndTheConnectionIsKept) {
  constexpr uint64_t kSize = 5 * 1024 * 1024 + 17;
  TestOrigin origin([&](const TestOrigin::Request&) {
    OriginAnswer a;
    a.raw = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n";
    a.then_bytes = kSize;
    return a;
  });
  asio::io_context io;
  OriginLimits limits;
  limits.max_body_bytes = 1024;  // applies to bodies read whole, not to streams
  auto c = LoopbackClient(limits);
  uint64_t total = 0;
  size_t largest = 0;
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    OriginEndpoint where{false, std::string("127.0.0.1"), origin.port()};  // named: see the GCC 12 note above
    auto r = co_await c.Open(where, Get());
    CO_ASSERT_TRUE(r.ok());
    for (;;) {
      auto piece = co_await (*r)->Next();
      CO_ASSERT_TRUE(piece.ok());
      if (piece->empty()) break;
      total += piece->size();
      largest = std::max(largest, piece->size());
    }
  }, 20s);
  EXPECT_EQ(total, kSize);
  EXPECT_LE(largest, limits.stream_piece_bytes);
  EXPECT_EQ(c.pool().idle_connections(), 1) << "a connection whose body was read whole goes back to the pool";
}

TEST(OriginClientTest, ABodyReadUpToItsLengthArrivesWholeInOrderAndTheConnectionIsKept) {
  // 200 KiB + 3 in 64 KiB writes: the head's read holds part of it, the rest is read
  // straight into the result, across several reads.
  constexpr uint64_t kSize = 200 * 1024 + 3;
  TestOrigin origin([&](const TestOrigin::Request&) {
    OriginAnswer a;
    a.raw = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n";
    a.then_bytes = kSize;
    return a;
  });
  asio::io_context io;
  auto c = LoopbackClient();
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      OriginEndpoint where{false, std::string("127.0.0.1"), origin.port()};  // named: see the GCC 12 note above
      auto r = co_await c.Open(where, Get());
      CO_ASSERT_TRUE(r.ok());
      bool complete = false;
      auto first = co_await (*r)->ReadUpTo(1000, &complete);  // a prefix, the rest streamed
      CO_ASSERT_TRUE(first.ok());
      EXPECT_FALSE(complete);
      std::string all = *first;
      for (;;) {
        auto piece = co_await (*r)->Next();
        CO_ASSERT_TRUE(piece.ok());
        if (piece->empty()) break;
        all.append(*piece);
      }
      EXPECT_EQ(all, std::string(kSize, 'x'));
      auto whole = co_await c.Open(where, Get());
      CO_ASSERT_TRUE(whole.ok());
      auto body = co_await (*whole)->ReadUpTo(kSize, &complete);
      CO_ASSERT_TRUE(body.ok());
      EXPECT_TRUE(complete);
      EXPECT_EQ(*body, std::string(kSize, 'x'));
    }
  }, 20s);
  EXPECT_EQ(origin.connections(), 1) << "every answer was read to its end, so one connection carried them all";
}

TEST(OriginClientTest, BytesAfterTheAnnouncedLengthKeepTheConnectionOutOfThePool) {
  asio::io_context io;
  CannedOrigin origin(io, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    auto c = LoopbackClient();
    auto r = co_await c.Fetch("127.0.0.1", origin.port(), Get());
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body(), "hello");
    EXPECT_EQ(c.pool().idle_connections(), 0);
  });
}

class TlsOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tacc-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    ca_file_ = (dir_ / "ca.pem").string();
    std::ofstream(ca_file_) << certs_.ca_pem;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  OriginClient ClientTrusting(const std::string& ca_file) {
    auto tls = MakeOriginTlsContext(ca_file);
    EXPECT_TRUE(tls.ok()) << tls.status().ToString();
    auto p = DestinationPolicy::Make(std::vector<std::string>{"127.0.0.1/32"});
    return OriginClient(OriginLimits{}, std::move(*p), *tls);
  }
  tacc::testing::TestCertificates certs_ = tacc::testing::MakeTestCertificates({"localhost", "127.0.0.1"});
  std::filesystem::path dir_;
  std::string ca_file_;
};

TEST_F(TlsOriginTest, FetchesFromAnOriginWhoseCertificateIsTrusted) {
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("secret", "text/plain", ""); }, &certs_);
  asio::io_context io;
  auto c = ClientTrusting(ca_file_);
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    for (const char* host : {"127.0.0.1", "localhost"}) {
      OriginEndpoint where{true, std::string(host), origin.port()};
      auto r = co_await c.Fetch(where, Get());
      CO_ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->body(), std::string("secret"));
    }
  });
  auto reqs = origin.requests();
  ASSERT_EQ(reqs.size(), 2u);
}

TEST_F(TlsOriginTest, RefusesAnUntrustedOrMisnamedCertificate) {
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("secret", "text/plain", ""); }, &certs_);
  auto other = tacc::testing::MakeTestCertificates({"elsewhere.test"});
  TestOrigin misnamed([](const TestOrigin::Request&) { return OkAnswer("secret", "text/plain", ""); }, &other);
  std::string other_ca = (dir_ / "other.pem").string();
  std::ofstream(other_ca) << other.ca_pem;
  asio::io_context io;
  auto untrusting = ClientTrusting(std::string());
  auto trusting_other = ClientTrusting(other_ca);
  RunCoroutine(io, [&]() -> asio::awaitable<void> {
    OriginEndpoint where1{true, std::string("127.0.0.1"), origin.port()};
    auto r1 = co_await untrusting.Fetch(where1, Get());
    CO_ASSERT_TRUE(!r1.ok());
    EXPECT_EQ(r1.status().kind(), ErrorKind::kUnavailable);
    EXPECT_NE(r1.status().message().find("certificate"), std::string::npos) << r1.status().ToString();
    // Signed by a trusted CA, but for another name.
    OriginEndpoint where2{true, std::string("127.0.0.1"), misnamed.port()};
    auto r2 = co_await trusting_other.Fetch(where2, Get());
    CO_ASSERT_TRUE(!r2.ok());
    EXPECT_NE(r2.status().message().find("certificate"), std::string::npos) << r2.status().ToString();
  });
  EXPECT_TRUE(origin.requests().empty()) << "a request went to an untrusted origin";
  EXPECT_TRUE(misnamed.requests().empty()) << "a request went to a misnamed origin";
}

}  // namespace
}  // namespace tacc::http
