// TranSend's proxy (issue 7), through real processes: `tacc up` with the transend service
// in front of an origin server this test runs on loopback.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <thread>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// An origin on 127.0.0.1 that answers every request with `reply`, on its own thread,
// and remembers the request heads it got.
class Origin {
 public:
  explicit Origin(std::string reply) : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), reply_(std::move(reply)) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Origin() {
    io_.stop();
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> heads() {
    std::lock_guard l(mu_);
    return heads_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(sock)), asio::detached);
    }
  }
  asio::awaitable<void> Serve(tcp::socket sock) {
    std::string in;
    auto [ec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(in), "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    {
      std::lock_guard l(mu_);
      heads_.push_back(in.substr(0, n));
    }
    co_await asio::async_write(sock, asio::buffer(reply_), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::string reply_;
  std::mutex mu_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A plain-HTTP forward proxy request reaches the origin re-framed, without hop-by-hop
// fields, with our Via; the answer comes back the same way.
TEST(TransendTest, ForwardProxyFetchesFromTheOriginWithViaAndWithoutHopByHopFields) {
  Origin origin(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, X-Origin-Hop\r\nX-Origin-Hop: a\r\nX-Kept: b\r\n"
      "Content-Length: 5\r\n\r\nhello");
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/page?q=1";
  std::string raw = RawExchange("127.0.0.1", c.FrontendPort(),
                                "GET " + url + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close, X-Client-Hop\r\nX-Client-Hop: 1\r\n"
                                "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Client-Kept: 2\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw << c.Log();
  std::string lraw = Lower(raw);
  EXPECT_NE(lraw.find("via: 1.1 tacc-" + Lower(c.name())), std::string::npos) << raw;
  EXPECT_NE(lraw.find("x-kept: b"), std::string::npos) << raw;
  EXPECT_EQ(lraw.find("x-origin-hop"), std::string::npos) << "a field the origin's Connection named was forwarded:\n" << raw;
  EXPECT_NE(raw.find("\r\n\r\nhello"), std::string::npos) << raw;

  auto heads = origin.heads();
  ASSERT_EQ(heads.size(), 1u);
  std::string head = Lower(heads[0]);
  EXPECT_EQ(head.rfind("get /page?q=1 http/1.1\r\n", 0), 0u) << heads[0];
  EXPECT_NE(head.find("host: 127.0.0.1:" + std::to_string(origin.port())), std::string::npos) << heads[0];
  EXPECT_NE(head.find("via: 1.1 tacc-" + Lower(c.name())), std::string::npos) << heads[0];
  EXPECT_NE(head.find("x-client-kept: 2"), std::string::npos) << heads[0];
  EXPECT_EQ(head.find("x-client-hop"), std::string::npos) << heads[0];
  EXPECT_EQ(head.find("proxy-authorization"), std::string::npos) << heads[0];
}

// The SSRF rule (proxy.allowed_destinations empty: public addresses only), a loop by our
// own Via, a dead origin, and a lying one: each gets its status and a clear page, and
// the refused origin is never contacted.
TEST(TransendTest, RefusedLoopedDeadAndLyingOriginsGetClearErrors) {
  Origin lying("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  {
    ClusterHarness strict({.settings = {"frontend.service=transend"}});
    strict.Start();
    auto r = HttpRequest("127.0.0.1", strict.FrontendPort(), "GET", "http://127.0.0.1:" + std::to_string(lying.port()) + "/");
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_NE(r.body.find("loopback address 127.0.0.1"), std::string::npos) << r.body;
    EXPECT_TRUE(lying.heads().empty()) << "the refused origin was contacted";
  }
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  std::string loop = RawExchange("127.0.0.1", c.FrontendPort(),
                                 "GET http://127.0.0.1:" + std::to_string(lying.port()) + "/ HTTP/1.1\r\nHost: x\r\nVia: 1.1 tacc-" + c.name() +
                                     "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(loop.rfind("HTTP/1.1 508", 0), 0u) << loop;
  EXPECT_TRUE(lying.heads().empty()) << "a looped request was forwarded";

  auto bad = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", "http://127.0.0.1:" + std::to_string(lying.port()) + "/");
  EXPECT_EQ(bad.status, 502) << bad.body;
  EXPECT_NE(bad.body.find("before the whole body"), std::string::npos) << bad.body;

  tcp::endpoint free_port;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    free_port = a.local_endpoint();
  }
  auto dead = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", "http://127.0.0.1:" + std::to_string(free_port.port()) + "/");
  EXPECT_EQ(dead.status, 502) << dead.body;
  EXPECT_NE(dead.body.find("cannot connect"), std::string::npos) << dead.body;
  // Origin-form requests are not proxy requests.
  EXPECT_EQ(c.Get("/").status, 404);
}

// Reverse proxy: origin-form requests are fetched from the origin configured for their
// Host (with or without port), with X-Forwarded-For; an unknown Host gets 404.
TEST(TransendTest, ReverseProxyByHostName) {
  Origin site("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\nsite");
  ClusterHarness c({.settings = {"frontend.service=transend",
                                 "proxy.reverse_origins=[\"Site.Test=http://127.0.0.1:" + std::to_string(site.port()) + "\"]"}});
  c.Start();
  std::string raw = RawExchange("127.0.0.1", c.FrontendPort(), "GET /a/b?c=d HTTP/1.1\r\nHost: site.test:8080\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw << c.Log();
  EXPECT_NE(raw.find("\r\n\r\nsite"), std::string::npos) << raw;
  auto heads = site.heads();
  ASSERT_EQ(heads.size(), 1u);
  std::string head = Lower(heads[0]);
  EXPECT_EQ(head.rfind("get /a/b?c=d http/1.1\r\n", 0), 0u) << heads[0];
  EXPECT_NE(head.find("host: site.test:8080"), std::string::npos) << heads[0];
  EXPECT_NE(head.find("x-forwarded-for: 127.0.0.1"), std::string::npos) << heads[0];
  EXPECT_NE(head.find("via: 1.1 tacc-"), std::string::npos) << heads[0];

  std::string other = RawExchange("127.0.0.1", c.FrontendPort(), "GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(other.rfind("HTTP/1.1 404", 0), 0u) << other;
  EXPECT_EQ(site.heads().size(), 1u) << "a request for another Host reached the origin";
}

}  // namespace
}  // namespace tacc::testing
