#include "http/server.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "async_test_util.h"

namespace tacc::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;
using tacc::testing::Event;
using tacc::testing::Pause;
using tacc::testing::RunCoroutine;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// Answers "<method> <target> <body size>:<body>"; records what it saw.
class RecordingHandler : public RequestHandler {
 public:
  asio::awaitable<http::Reply> Handle(Request& req, const RequestInfo& info) override {
    ++calls;
    bodies.push_back(req.body());
    remotes.push_back(info.remote);
    std::string text =
        std::string(req.method_string()) + " " + std::string(req.target()) + " " + std::to_string(req.body().size()) + ":" + req.body();
    Response res = MakeResponse(req, bhttp::status::ok, text);
    if (req.target() == "/close") res.keep_alive(false);
    co_return res;
  }
  int calls = 0;
  std::vector<std::string> bodies;
  std::vector<tcp::endpoint> remotes;
};

struct ClientReply {
  boost::system::error_code ec;
  Response res;
};

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerLimits limits, std::shared_ptr<ServerBudget> budget = nullptr) {
    server_ = std::make_unique<Server>(ctx_, limits, handler_, std::move(budget));
    Status s = server_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  tcp::endpoint ServerEndpoint() const { return {asio::ip::make_address("127.0.0.1"), server_->port()}; }

  asio::awaitable<bool> Dial(tcp::socket& s) {
    auto [ec] = co_await s.async_connect(ServerEndpoint(), kTuple);
    EXPECT_FALSE(ec) << ec.message();
    co_return !ec;
  }

  static asio::awaitable<bool> Write(tcp::socket& s, const std::string& bytes) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), kTuple);
    EXPECT_FALSE(ec) << ec.message();
    co_return !ec;
  }

  static asio::awaitable<ClientReply> Read(tcp::socket& s, boost::beast::flat_buffer& buf) {
    ClientReply r;
    auto [ec, n] = co_await bhttp::async_read(s, buf, r.res, kTuple);
    r.ec = ec;
    co_return r;
  }

  // Reads until the server closes the connection; returns how the read ended and when.
  static asio::awaitable<std::pair<boost::system::error_code, Clock::duration>> ReadToClose(tcp::socket& s) {
    auto start = Clock::now();
    std::array<char, 4096> junk;
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(junk), kTuple);
      if (ec) co_return std::make_pair(ec, Clock::now() - start);
    }
  }

  static bool ClosedCleanly(const boost::system::error_code& ec) { return ec == asio::error::eof || ec == asio::error::connection_reset; }

  void Run(std::function<asio::awaitable<void>()> body) { RunCoroutine(ctx_, std::move(body)); }

  asio::io_context ctx_;
  RecordingHandler handler_;
  std::unique_ptr<Server> server_;
};

const std::string kGet = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

// Reads until the peer closes; how the read ended and when (for tests without the fixture).
asio::awaitable<std::pair<boost::system::error_code, Clock::duration>> ReadUntilClosed(tcp::socket& s) {
  auto start = Clock::now();
  std::array<char, 4096> junk;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(junk), kTuple);
    if (ec) co_return std::make_pair(ec, Clock::now() - start);
  }
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    boost::beast::flat_buffer buf;
    CO_ASSERT_TRUE(co_await Write(s, kGet));
    auto r1 = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r1.ec);
    EXPECT_EQ(r1.res.result(), bhttp::status::ok);
    EXPECT_EQ(r1.res.body(), "GET /a 0:");
    EXPECT_TRUE(r1.res.keep_alive());
    std::string post = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    CO_ASSERT_TRUE(co_await Write(s, post));
    auto r2 = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r2.ec);
    EXPECT_EQ(r2.res.body(), "POST /b 5:hello");
    EXPECT_EQ(handler_.calls, 2);
    CO_ASSERT_TRUE(handler_.remotes.size() == 2u);
    EXPECT_EQ(handler_.remotes[0], s.local_endpoint());
  });
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string three =
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        "GET /close HTTP/1.1\r\nHost: x\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, three));
    boost::beast::flat_buffer buf;
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
      auto r = co_await Read(s, buf);
      CO_ASSERT_TRUE(!r.ec);
      got.push_back(r.res.body());
    }
    EXPECT_EQ(got, (std::vector<std::string>{"GET /1 0:", "POST /2 3:abc", "GET /close 0:"}));
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_EQ(ec, asio::error::eof) << "handler asked to close";
  });
}

TEST_F(ServerTest, ChunkedRequestBodyReachesTheHandlerWhole) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string head = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string c1 = "5\r\nhello\r\n";
    std::string c2 = "1;ext=1\r\n,\r\n";
    std::string c3 = "6\r\n world\r\n0\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, head));
    CO_ASSERT_TRUE(co_await Write(s, c1));
    CO_ASSERT_TRUE(co_await Write(s, c2));
    CO_ASSERT_TRUE(co_await Write(s, c3));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::ok);
    EXPECT_EQ(r.res.body(), "POST /c 12:hello, world");
    CO_ASSERT_TRUE(handler_.bodies.size() == 1u);
    EXPECT_EQ(handler_.bodies[0], "hello, world");
  });
}

TEST_F(ServerTest, MalformedRequestGets400AndClose) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string junk = "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, junk));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::bad_request);
    EXPECT_FALSE(r.res.keep_alive());
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_EQ(handler_.calls, 0);
  });
}

TEST_F(ServerTest, BinaryGarbageGets400) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string junk("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15);  // a TLS hello, say
    CO_ASSERT_TRUE(co_await Write(s, junk));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::bad_request);
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
  });
}

TEST_F(ServerTest, HeadOverMaxHeaderBytesGets431) {
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    // Just under the limit is served.
    tcp::socket ok(ctx_);
    CO_ASSERT_TRUE(co_await Dial(ok));
    std::string small = "GET /s HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(800, 'p') + "\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(ok, small));
    boost::beast::flat_buffer buf1;
    auto r1 = co_await Read(ok, buf1);
    CO_ASSERT_TRUE(!r1.ec);
    EXPECT_EQ(r1.res.result(), bhttp::status::ok);

    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string big = "GET /b HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(2000, 'p') + "\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, big));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::request_header_fields_too_large);
    EXPECT_NE(r.res.body().find("http.max_header_bytes"), std::string::npos);
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_EQ(handler_.calls, 1);
  });
}

TEST_F(ServerTest, BodyOverMaxBodyBytesGets413) {
  ServerLimits limits;
  limits.max_body_bytes = 1000;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    // Announced length over the limit: refused from the head alone.
    std::string head = "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, head));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::payload_too_large);
    EXPECT_NE(r.res.body().find("http.max_body_bytes"), std::string::npos);
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();

    // Exactly at the limit is fine.
    tcp::socket at(ctx_);
    CO_ASSERT_TRUE(co_await Dial(at));
    std::string exact = "POST /at HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'b');
    CO_ASSERT_TRUE(co_await Write(at, exact));
    boost::beast::flat_buffer buf2;
    auto r2 = co_await Read(at, buf2);
    CO_ASSERT_TRUE(!r2.ec);
    EXPECT_EQ(r2.res.result(), bhttp::status::ok);
    EXPECT_EQ(handler_.calls, 1);
  });
}

TEST_F(ServerTest, ChunkedBodyOverMaxBodyBytesGets413) {
  ServerLimits limits;
  limits.max_body_bytes = 1000;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    // No length announced: the server must count the chunks. 3 x 400 bytes > 1000.
    std::string head = "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    std::string chunk = "190\r\n" + std::string(400, 'c') + "\r\n";
    CO_ASSERT_TRUE(co_await Write(s, head));
    std::string body = chunk + chunk + chunk;
    CO_ASSERT_TRUE(co_await Write(s, body));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::payload_too_large);
    EXPECT_EQ(handler_.calls, 0);
  });
}

TEST_F(ServerTest, IdleTimeoutClosesTheConnection) {
  ServerLimits limits;
  limits.idle_timeout_ms = 150;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    // A connection that never sends anything.
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_GE(after, 100ms);  // loose: the server's clock starts a little before ours
    EXPECT_LT(after, 2s);

    // A keep-alive connection that goes quiet after one request.
    tcp::socket k(ctx_);
    CO_ASSERT_TRUE(co_await Dial(k));
    CO_ASSERT_TRUE(co_await Write(k, kGet));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(k, buf);
    CO_ASSERT_TRUE(!r.ec);
    auto [ec2, after2] = co_await ReadToClose(k);
    EXPECT_TRUE(ClosedCleanly(ec2)) << ec2.message();
    EXPECT_GE(after2, 100ms);
    EXPECT_LT(after2, 2s);
  });
}

TEST_F(ServerTest, SlowBodyIsCutOffAfterReadTimeout) {
  ServerLimits limits;
  limits.idle_timeout_ms = 10000;
  limits.read_timeout_ms = 150;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string partial = "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-bit";
    CO_ASSERT_TRUE(co_await Write(s, partial));
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_GE(after, 100ms);  // loose: the server's clock starts a little before ours
    EXPECT_LT(after, 2s) << "idle_timeout applied instead of read_timeout";
    EXPECT_EQ(handler_.calls, 0);
  });
}

TEST_F(ServerTest, ConnectionsAboveMaxConnectionsGet503) {
  ServerLimits limits;
  limits.max_connections = 1;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    // The first connection is established and served (its session is counted).
    tcp::socket a(ctx_);
    CO_ASSERT_TRUE(co_await Dial(a));
    CO_ASSERT_TRUE(co_await Write(a, kGet));
    boost::beast::flat_buffer buf_a;
    auto ra = co_await Read(a, buf_a);
    CO_ASSERT_TRUE(!ra.ec);
    EXPECT_EQ(ra.res.result(), bhttp::status::ok);

    // A second one is refused with 503 and closed.
    tcp::socket b(ctx_);
    CO_ASSERT_TRUE(co_await Dial(b));
    boost::beast::flat_buffer buf_b;
    auto rb = co_await Read(b, buf_b);
    CO_ASSERT_TRUE(!rb.ec);
    EXPECT_EQ(rb.res.result(), bhttp::status::service_unavailable);
    auto [ec, after] = co_await ReadToClose(b);
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_EQ(handler_.calls, 1);

    // The first still works; once it has closed, a new connection is served again.
    std::string last = "GET /close HTTP/1.1\r\nHost: x\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(a, last));
    auto ra2 = co_await Read(a, buf_a);
    CO_ASSERT_TRUE(!ra2.ec);
    EXPECT_EQ(ra2.res.result(), bhttp::status::ok);
    auto [eca, aftera] = co_await ReadToClose(a);
    EXPECT_EQ(eca, asio::error::eof);
    tcp::socket c(ctx_);
    CO_ASSERT_TRUE(co_await Dial(c));
    CO_ASSERT_TRUE(co_await Write(c, kGet));
    boost::beast::flat_buffer buf_c;
    auto rc = co_await Read(c, buf_c);
    CO_ASSERT_TRUE(!rc.ec);
    EXPECT_EQ(rc.res.result(), bhttp::status::ok);
  });
}

TEST_F(ServerTest, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    std::string req = "GET /old HTTP/1.0\r\n\r\n";
    CO_ASSERT_TRUE(co_await Write(s, req));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    EXPECT_EQ(r.res.result(), bhttp::status::ok);
    EXPECT_EQ(r.res.body(), "GET /old 0:");
    EXPECT_FALSE(r.res.keep_alive());
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_EQ(ec, asio::error::eof);
  });
}

TEST_F(ServerTest, StopRefusesNewConnections) {
  StartServer({});
  auto ep = ServerEndpoint();
  server_->Stop();
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    auto [ec] = co_await s.async_connect(ep, kTuple);
    EXPECT_EQ(ec, asio::error::connection_refused) << ec.message();
  });
}

// Regression: Stop() used to leave keep-alive connections open until their idle timeout.
TEST_F(ServerTest, StopClosesOpenKeepAliveConnections) {
  StartServer({});
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    CO_ASSERT_TRUE(co_await Write(s, kGet));
    boost::beast::flat_buffer buf;
    auto r = co_await Read(s, buf);
    CO_ASSERT_TRUE(!r.ec);
    server_->Stop();
    auto [ec, after] = co_await ReadToClose(s);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_LT(after, std::chrono::seconds(2));
  });
}

// Regression: the head used to be bounded only by http.idle_timeout_ms (each read of a
// trickling client renewed nothing, but the head phase had the idle timeout, 30 s by
// default), not by http.read_timeout_ms as documented. One byte every 20 ms must be cut
// off after the read timeout counted from the first byte.
TEST_F(ServerTest, TricklingHeadIsCutOffAfterReadTimeoutFromItsFirstByte) {
  ServerLimits limits;
  limits.idle_timeout_ms = 20000;
  limits.read_timeout_ms = 300;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    bool closed = false;
    // The slow client: a never-ending head, one byte at a time.
    asio::co_spawn(
        ctx_,
        [&]() -> asio::awaitable<void> {
          std::string head = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(1000, 's');
          for (char ch : head) {
            if (closed) co_return;
            auto [ec, n] = co_await asio::async_write(s, asio::buffer(&ch, 1), kTuple);
            if (ec) co_return;
            co_await Pause(20ms);
          }
        },
        asio::detached);
    auto [ec, after] = co_await ReadToClose(s);
    closed = true;
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_GE(after, 250ms);
    EXPECT_LT(after, 3s) << "a trickling head was not cut off by http.read_timeout_ms";
    EXPECT_EQ(handler_.calls, 0);
  });
}

// The same one deadline covers head and body: a body trickled after a prompt head ends
// at the read timeout from the request's first byte too.
TEST_F(ServerTest, TricklingBodyIsCutOffAfterReadTimeout) {
  ServerLimits limits;
  limits.idle_timeout_ms = 20000;
  limits.read_timeout_ms = 300;
  StartServer(limits);
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    CO_ASSERT_TRUE(co_await Dial(s));
    CO_ASSERT_TRUE(co_await Write(s, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
    bool closed = false;
    asio::co_spawn(
        ctx_,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 1000 && !closed; ++i) {
            char ch = 'b';
            auto [ec, n] = co_await asio::async_write(s, asio::buffer(&ch, 1), kTuple);
            if (ec) co_return;
            co_await Pause(20ms);
          }
        },
        asio::detached);
    auto [ec, after] = co_await ReadToClose(s);
    closed = true;
    EXPECT_TRUE(ClosedCleanly(ec)) << ec.message();
    EXPECT_LT(after, 3s);
    EXPECT_EQ(handler_.calls, 0);
  });
}

// Regression: http.max_connections used to be counted per thread (per Server), so a
// front end with N threads took N times the limit. Two servers (as two threads of one
// front end) share one budget here.
TEST(ServerBudgetTest, MaxConnectionsIsSharedByTheServersOfOneFrontEnd) {
  asio::io_context ctx;
  RecordingHandler h1, h2;
  ServerLimits limits;
  limits.max_connections = 2;
  auto budget = std::make_shared<ServerBudget>(limits);
  Server a(ctx, limits, h1, budget), b(ctx, limits, h2, budget);
  ASSERT_TRUE(a.Listen("127.0.0.1", 0).ok());
  ASSERT_TRUE(b.Listen("127.0.0.1", 0).ok());
  auto ep = [](Server& s) { return tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()); };
  RunCoroutine(ctx, [&]() -> asio::awaitable<void> {
    auto get = [&](tcp::socket& s, tcp::endpoint to, boost::beast::flat_buffer& buf) -> asio::awaitable<ClientReply> {
      auto [cec] = co_await s.async_connect(to, kTuple);
      EXPECT_FALSE(cec) << cec.message();
      co_await asio::async_write(s, asio::buffer(kGet), kTuple);
      ClientReply r;
      auto [ec, n] = co_await bhttp::async_read(s, buf, r.res, kTuple);
      r.ec = ec;
      co_return r;
    };
    tcp::socket c1(ctx), c2(ctx), c3(ctx), c4(ctx);
    boost::beast::flat_buffer b1, b2, b3, b4;
    auto r1 = co_await get(c1, ep(a), b1);
    auto r2 = co_await get(c2, ep(b), b2);
    EXPECT_EQ(r1.res.result(), bhttp::status::ok);
    EXPECT_EQ(r2.res.result(), bhttp::status::ok);
    EXPECT_EQ(budget->open(), 2);
    // Both servers are at the shared limit: a third connection, to either, is refused.
    auto r3 = co_await get(c3, ep(a), b3);
    CO_ASSERT_TRUE(!r3.ec);
    EXPECT_EQ(r3.res.result(), bhttp::status::service_unavailable);
    auto [ec3, after3] = co_await ReadUntilClosed(c3);
    EXPECT_TRUE(ec3 == asio::error::eof || ec3 == asio::error::connection_reset) << ec3.message();
    // One closes: there is room again, on the other server.
    c1.close();
    for (int i = 0; i < 200 && budget->open() > 1; ++i) co_await Pause(5ms);
    auto r4 = co_await get(c4, ep(b), b4);
    EXPECT_EQ(r4.res.result(), bhttp::status::ok);
    EXPECT_EQ(h1.calls + h2.calls, 3);
  });
}

// http.max_buffered_bytes bounds the request bytes held across all connections: the
// request that would go above it is refused with 503 and its connection closed; the
// others go on, and the memory is given back when a request ends.
TEST_F(ServerTest, RequestBytesAboveTheBudgetAreRefusedWith503) {
  ServerLimits limits;
  limits.max_body_bytes = 1 << 20;
  limits.max_buffered_bytes = 64 << 10;
  auto budget = std::make_shared<ServerBudget>(limits);
  StartServer(limits, budget);
  Run([&]() -> asio::awaitable<void> {
    // A: a 60,000-byte upload, two thirds sent.
    tcp::socket a(ctx_);
    CO_ASSERT_TRUE(co_await Dial(a));
    CO_ASSERT_TRUE(co_await Write(a, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n" + std::string(40000, 'a')));
    for (int i = 0; i < 400 && budget->buffered() < 40000; ++i) co_await Pause(5ms);
    CO_ASSERT_TRUE(budget->buffered() >= 40000);
    // B: 30,000 more bytes would take the front end above 64 KiB.
    tcp::socket b(ctx_);
    CO_ASSERT_TRUE(co_await Dial(b));
    CO_ASSERT_TRUE(co_await Write(b, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n" + std::string(30000, 'b')));
    boost::beast::flat_buffer bb;
    auto rb = co_await Read(b, bb);
    CO_ASSERT_TRUE(!rb.ec);
    EXPECT_EQ(rb.res.result(), bhttp::status::service_unavailable);
    EXPECT_NE(rb.res.body().find("http.max_buffered_bytes"), std::string::npos);
    EXPECT_FALSE(rb.res.keep_alive());
    // A finishes within the budget and is served.
    CO_ASSERT_TRUE(co_await Write(a, std::string(20000, 'a')));
    boost::beast::flat_buffer ba;
    auto ra = co_await Read(a, ba);
    CO_ASSERT_TRUE(!ra.ec);
    EXPECT_EQ(ra.res.result(), bhttp::status::ok);
    EXPECT_EQ(handler_.bodies.size(), 1u);
    // Every byte was given back.
    for (int i = 0; i < 400 && budget->buffered() > 0; ++i) co_await Pause(5ms);
    EXPECT_EQ(budget->buffered(), 0);
    tcp::socket c(ctx_);
    CO_ASSERT_TRUE(co_await Dial(c));
    CO_ASSERT_TRUE(co_await Write(c, "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n" + std::string(30000, 'c')));
    boost::beast::flat_buffer bc;
    auto rc = co_await Read(c, bc);
    CO_ASSERT_TRUE(!rc.ec);
    EXPECT_EQ(rc.res.result(), bhttp::status::ok);
  });
}

// Answers after `gate` opens (for requests in flight during a drain).
class GatedHandler : public RequestHandler {
 public:
  explicit GatedHandler(asio::io_context& ctx) : gate(ctx.get_executor()) {}
  asio::awaitable<http::Reply> Handle(Request& req, const RequestInfo&) override {
    ++calls;
    if (req.target() == "/wait") co_await gate.Wait(4s);
    co_return MakeResponse(req, bhttp::status::ok, std::string(req.target()));
  }
  Event gate;
  int calls = 0;
};

// Drain without closing idle connections (a successor took the listening sockets):
// the request in flight is answered with `Connection: close`; an idle keep-alive
// connection stays open until its next request, which is answered, with close.
TEST(ServerDrainTest, InFlightAndNextRequestsAreAnsweredWithClose) {
  asio::io_context ctx;
  GatedHandler handler(ctx);
  Server server(ctx, {}, handler);
  ASSERT_TRUE(server.Listen("127.0.0.1", 0).ok());
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), server.port());
  RunCoroutine(ctx, [&]() -> asio::awaitable<void> {
    tcp::socket busy(ctx), idle(ctx);
    co_await busy.async_connect(ep, kTuple);
    co_await idle.async_connect(ep, kTuple);
    boost::beast::flat_buffer bbuf, ibuf;
    co_await asio::async_write(idle, asio::buffer(kGet), kTuple);
    Response first;
    co_await bhttp::async_read(idle, ibuf, first, kTuple);
    EXPECT_TRUE(first.keep_alive());
    std::string wait = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(busy, asio::buffer(wait), kTuple);
    for (int i = 0; i < 200 && handler.calls < 2; ++i) co_await Pause(5ms);
    CO_ASSERT_TRUE(handler.calls == 2);
    server.StopAccepting();
    server.Drain(false);
    handler.gate.Set();
    Response r;
    auto [ec, n] = co_await bhttp::async_read(busy, bbuf, r, kTuple);
    CO_ASSERT_TRUE(!ec);
    EXPECT_EQ(r.body(), "/wait");
    EXPECT_FALSE(r.keep_alive());
    co_await Pause(50ms);  // the idle connection is not closed under the client's feet
    co_await asio::async_write(idle, asio::buffer(kGet), kTuple);
    Response r2;
    auto [ec2, n2] = co_await bhttp::async_read(idle, ibuf, r2, kTuple);
    CO_ASSERT_TRUE(!ec2);
    EXPECT_EQ(r2.result(), bhttp::status::ok);
    EXPECT_FALSE(r2.keep_alive());
    auto [ec3, after] = co_await ReadUntilClosed(idle);
    EXPECT_EQ(ec3, asio::error::eof);
    EXPECT_EQ(server.open_connections(), 0);
  });
}

// Drain with close_idle (no successor): idle connections close at once.
TEST(ServerDrainTest, IdleConnectionsCloseAtOnceWithoutASuccessor) {
  asio::io_context ctx;
  GatedHandler handler(ctx);
  Server server(ctx, {}, handler);
  ASSERT_TRUE(server.Listen("127.0.0.1", 0).ok());
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), server.port());
  RunCoroutine(ctx, [&]() -> asio::awaitable<void> {
    tcp::socket idle(ctx);
    co_await idle.async_connect(ep, kTuple);
    boost::beast::flat_buffer buf;
    co_await asio::async_write(idle, asio::buffer(kGet), kTuple);
    Response first;
    co_await bhttp::async_read(idle, buf, first, kTuple);
    server.Drain(true);
    auto [ec, after] = co_await ReadUntilClosed(idle);
    EXPECT_EQ(ec, asio::error::eof);
    EXPECT_LT(after, 2s);
  });
}

// The hand-over at the socket level: connections that arrive after the old server
// stopped accepting wait in the shared socket's backlog and are served by the server
// that adopted (a duplicate of) its descriptor, even after the old one closed its copy.
TEST(ServerHandoverTest, QueuedConnectionsAreServedByTheAdopter) {
  asio::io_context ctx;
  RecordingHandler old_handler, new_handler;
  Server old_server(ctx, {}, old_handler), new_server(ctx, {}, new_handler);
  ASSERT_TRUE(old_server.Listen("127.0.0.1", 0).ok());
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), old_server.port());
  RunCoroutine(ctx, [&]() -> asio::awaitable<void> {
    old_server.StopAccepting();
    co_await Pause(10ms);
    // Queued in the backlog: nobody accepts right now.
    tcp::socket queued(ctx);
    auto [cec] = co_await queued.async_connect(ep, kTuple);
    CO_ASSERT_TRUE(!cec);
    co_await asio::async_write(queued, asio::buffer(kGet), kTuple);
    auto fds = old_server.listener_fds();
    CO_ASSERT_TRUE(fds.size() == 1u);
    CO_ASSERT_TRUE(new_server.Adopt(::dup(fds[0])).ok());
    old_server.CloseListeners();
    boost::beast::flat_buffer buf;
    Response r;
    auto [ec, n] = co_await bhttp::async_read(queued, buf, r, kTuple);
    CO_ASSERT_TRUE(!ec);
    EXPECT_EQ(r.result(), bhttp::status::ok);
    EXPECT_EQ(new_server.port(), ep.port());
    // A new connection after the old server closed its copy: the port still listens.
    tcp::socket later(ctx);
    auto [lec] = co_await later.async_connect(ep, kTuple);
    CO_ASSERT_TRUE(!lec);
    co_await asio::async_write(later, asio::buffer(kGet), kTuple);
    Response r2;
    boost::beast::flat_buffer buf2;
    auto [ec2, n2] = co_await bhttp::async_read(later, buf2, r2, kTuple);
    CO_ASSERT_TRUE(!ec2);
    EXPECT_EQ(old_handler.calls, 0);
    EXPECT_EQ(new_handler.calls, 2);
  });
}

TEST(ServerHandoverTest, AdoptRefusesADescriptorThatIsNotAListeningSocket) {
  asio::io_context ctx;
  RecordingHandler handler;
  Server server(ctx, {}, handler);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  EXPECT_EQ(server.Adopt(fds[0]).kind(), ErrorKind::kInvalidArgument);
}

TEST(ServerListenTest, RejectsABadAddress) {
  asio::io_context ctx;
  RecordingHandler handler;
  Server server(ctx, {}, handler);
  Status s = server.Listen("localhost-ish", 0);
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument);
}

TEST(MakeResponseTest, FollowsTheRequestsKeepAliveAndSetsLength) {
  Request req{bhttp::verb::get, "/", 11};
  auto res = MakeResponse(req, bhttp::status::not_found, "nope", "text/x");
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(res[bhttp::field::content_length], "4");
  EXPECT_EQ(res[bhttp::field::content_type], "text/x");
  req.keep_alive(false);
  EXPECT_FALSE(MakeResponse(req, bhttp::status::ok, "").keep_alive());
}

// SerializeHead writes exactly what Beast's serializer writes for the same head.
template <typename Message>
std::string BeastHead(Message& m) {
  bhttp::serializer<Message::is_request::value, typename Message::body_type> sr{m};
  std::string out;
  boost::system::error_code ec;
  sr.split(true);
  while (!sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      for (auto b : boost::beast::buffers_range_ref(buffers)) out.append(static_cast<const char*>(b.data()), b.size());
      sr.consume(boost::asio::buffer_size(buffers));
    });
    EXPECT_FALSE(ec);
  }
  return out;
}

TEST(SerializeHeadTest, WritesWhatBeastWrites) {
  Request req{bhttp::verb::post, "/a/b?c=d", 11};
  req.set(bhttp::field::host, "origin.test");
  req.insert("X-Many", "1");
  req.insert("X-Many", "2");
  req.set("X-Odd-Name", "");
  req.body() = "hello";
  req.prepare_payload();
  EXPECT_EQ(SerializeHead(req.base()), BeastHead(req));
  EXPECT_EQ(SerializeHead(req.base()), "POST /a/b?c=d HTTP/1.1\r\nHost: origin.test\r\nX-Many: 1\r\nX-Many: 2\r\nX-Odd-Name: \r\nContent-Length: 5\r\n\r\n");

  Response res{bhttp::status::not_found, 10};
  res.set(bhttp::field::server, "tacc");
  res.body() = "nope";
  res.prepare_payload();
  EXPECT_EQ(SerializeHead(res.base()), BeastHead(res));
  Response odd{bhttp::status::ok, 11};
  odd.result(299);  // no reason phrase Beast knows
  odd.reason("Fine");
  EXPECT_EQ(SerializeHead(odd.base()), BeastHead(odd));
  odd.result(599);
  odd.reason("");
  EXPECT_EQ(SerializeHead(odd.base()), BeastHead(odd));
}

}  // namespace
}  // namespace tacc::http
