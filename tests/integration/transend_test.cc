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
#include <algorithm>
#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>

#include "cluster_harness.h"
#include "compress.h"
#include "test_ca.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
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
  // Origin-form requests are not proxy requests; "/" explains how to use the proxy.
  EXPECT_EQ(c.Get("/x").status, 404);
  auto demo = c.Get("/");
  EXPECT_EQ(demo.status, 200);
  for (const char* part : {"Forward proxy", "Reverse proxy", "URL API", "/_tacc/prefs", "tacc url sign"})
    EXPECT_NE(demo.body.find(part), std::string::npos) << part;
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

  std::string other = RawExchange("127.0.0.1", c.FrontendPort(), "GET /x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(other.rfind("HTTP/1.1 404", 0), 0u) << other;
  EXPECT_EQ(site.heads().size(), 1u) << "a request for another Host reached the origin";
}

// ---------------------------------------------------------------- streaming, CONNECT, HTTPS

// Peak resident memory of a process (VmHWM), in bytes; 0 if unknown.
int64_t PeakRss(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

// Removes a file the test wrote when the test ends, however it ends.
struct RemoveAtEnd {
  std::string path;
  ~RemoveAtEnd() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

pid_t FrontendPidOf(const ClusterHarness& c) {
  auto b = c.Latest();
  if (b)
    for (auto& f : b->frontends())
      if (f.index() == 0) return static_cast<pid_t>(f.pid());
  return 0;
}

// What a client got when it read an answer through the proxy piece by piece.
struct Streamed {
  int status = 0;
  std::string transfer_encoding;
  uint64_t body_bytes = 0;
  bool complete = false;  // the framing said the body ended (not a cut connection)
  std::string error;
};

Streamed GetStreamed(int port, const std::string& request) {
  Streamed out;
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)), ec);
  if (ec) return out;
  timeval tv{20, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(s, asio::buffer(request), ec);
  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> p;
  p.body_limit(boost::none);
  bhttp::read_header(s, buf, p, ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  out.status = p.get().result_int();
  out.transfer_encoding = std::string(p.get()[bhttp::field::transfer_encoding]);
  std::vector<char> piece(64 * 1024);
  while (!p.is_done()) {
    p.get().body().data = piece.data();
    p.get().body().size = piece.size();
    bhttp::read(s, buf, p, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    out.body_bytes += piece.size() - p.get().body().size;
    if (ec) {
      out.error = ec.message();
      return out;
    }
  }
  out.complete = true;
  return out;
}

// A body far larger than the front end's memory passes through whole, in both framings
// (the origin's length; no length at all, re-framed as chunked), and the front end's
// peak memory grows by a small fraction of it.
TEST(TransendTest, LargeBodiesStreamThroughWithBoundedFrontEndMemory) {
  constexpr uint64_t kSize = uint64_t{256} << 20;
  TestOrigin origin([&](const TestOrigin::Request& r) {
    OriginAnswer a;
    if (r.target() == "/sized") {
      a.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n";
    } else {  // an HTTP/1.0-style body that ends with the connection
      a.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
      a.close = true;
    }
    a.then_bytes = kSize;
    return a;
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]",
                                 "proxy.max_body_bytes=1048576"}});
  c.Start();
  pid_t fe = FrontendPidOf(c);
  ASSERT_GT(fe, 0);
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());
  // Warm up (one small request), then take the baseline.
  auto warm = GetStreamed(c.FrontendPort(), "GET " + base + "/none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  int64_t before = PeakRss(fe);
  (void)warm;

  auto sized = GetStreamed(c.FrontendPort(), "GET " + base + "/sized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(sized.status, 200) << sized.error;
  EXPECT_TRUE(sized.complete) << sized.error;
  EXPECT_EQ(sized.body_bytes, kSize);

  auto unsized = GetStreamed(c.FrontendPort(), "GET " + base + "/unsized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(unsized.status, 200) << unsized.error;
  EXPECT_EQ(Lower(unsized.transfer_encoding), "chunked");
  EXPECT_TRUE(unsized.complete) << unsized.error;
  EXPECT_EQ(unsized.body_bytes, kSize);

  int64_t after = PeakRss(fe);
  EXPECT_LT(after - before, int64_t{32} << 20) << "front-end peak RSS grew from " << before << " to " << after << " for 2 x 256 MiB bodies";
}

// An origin that announces more than it sends: a streamed answer can't become a 502
// once its head is out, so the client must see the cut (fewer bytes, no clean end).
TEST(TransendTest, AStreamedBodyTheOriginCutsShortReachesTheClientCut) {
  TestOrigin origin([](const TestOrigin::Request&) {
    OriginAnswer a;
    a.raw = "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n";
    a.then_bytes = 1000000;
    a.close = true;
    return a;
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  auto r = GetStreamed(c.FrontendPort(), "GET http://127.0.0.1:" + std::to_string(origin.port()) + "/ HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete) << "a cut body was passed off as whole";
  EXPECT_LT(r.body_bytes, 10000000u);
}

// CONNECT to an allowed port opens a tunnel that carries a real TLS session end to end;
// other ports and refused destinations get 403 and no connection.
TEST(TransendTest, ConnectTunnelsTlsToAllowedPortsOnly) {
  auto certs = MakeTestCertificates({"localhost", "127.0.0.1"});
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("through the tunnel", "text/plain", ""); }, &certs);
  const std::string port = std::to_string(origin.port());
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]",
                                 "proxy.connect_ports=[\"" + port + "\"]"}});
  c.Start();

  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(c.FrontendPort())));
  timeval tv{10, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(s, asio::buffer("CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n"));
  std::string head;
  boost::system::error_code ec;
  asio::read_until(s, asio::dynamic_buffer(head), "\r\n\r\n", ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_EQ(Lower(head).find("content-length"), std::string::npos) << "a 2xx to CONNECT must not be framed: " << head;

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(certs.ca_pem));
  asio::ssl::stream<tcp::socket&> tls(s, ctx);
  tls.set_verify_mode(asio::ssl::verify_peer);
  tls.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  tls.handshake(asio::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << "TLS through the tunnel: " << ec.message();
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/secret", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(tls, req, ec);
  ASSERT_FALSE(ec) << ec.message();
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(tls, buf, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.body(), "through the tunnel");
  EXPECT_EQ(origin.targets(), std::vector<std::string>{"/secret"});

  std::string other = RawExchange("127.0.0.1", c.FrontendPort(), "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(other.rfind("HTTP/1.1 403", 0), 0u) << other;
  EXPECT_NE(other.find("proxy.connect_ports"), std::string::npos) << other;
  ClusterHarness strict({.settings = {"frontend.service=transend", "proxy.connect_ports=[\"" + port + "\"]"}});
  strict.Start();
  std::string ssrf = RawExchange("127.0.0.1", strict.FrontendPort(), "CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ssrf.rfind("HTTP/1.1 403", 0), 0u) << ssrf;
  EXPECT_EQ(origin.connections(), 1) << "a refused tunnel reached the origin";
}

// A reverse-proxied HTTPS origin whose certificate comes from the operator's CA
// (proxy.origin_ca_file).
TEST(TransendTest, ReverseProxyToAnHttpsOrigin) {
  auto certs = MakeTestCertificates({"localhost"});
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("tls site", "text/html", ""); }, &certs);
  std::string ca = "/tmp/tacc-it-ca-" + std::to_string(::getpid()) + ".pem";
  RemoveAtEnd remove_ca{ca};
  std::ofstream(ca) << certs.ca_pem;
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.origin_ca_file=" + ca,
                                 "proxy.reverse_origins=[\"site.test=https://localhost:" + std::to_string(origin.port()) + "\"]"}});
  c.Start();
  std::string raw = RawExchange("127.0.0.1", c.FrontendPort(), "GET /x HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw << c.Log();
  EXPECT_NE(raw.find("\r\n\r\ntls site"), std::string::npos) << raw;
}

// ---------------------------------------------------------------- dispatch rules, approximate answers

// The origin of the dispatch tests: a text, a page, and a binary, each a few bytes.
OriginAnswer TypedAnswer(const TestOrigin::Request& r) {
  std::string t(r.target());
  if (t == "/gz.txt") return OkAnswer(Gzip("abc"), "text/plain", "Content-Encoding: gzip\r\n");
  if (t == "/t.txt") return OkAnswer("abc", "text/plain", "ETag: \"v1\"\r\n");
  if (t == "/h.html") return OkAnswer("<p>page</p>", "text/html", "");
  if (t == "/keep.txt") return OkAnswer("untouched", "text/plain", "Cache-Control: no-transform\r\n");
  return OkAnswer("\x01\x02", "application/octet-stream", "");
}


// A response whose type a rule names goes through that rule's chain, step after step;
// a failing step, or no-transform, or a type no rule names, gets the original (the
// failure marked approximate, §3.1.8).
TEST(TransendTest, DispatchRulesRunChainsAndAFailedChainAnswersTheOriginal) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "classes.test.min_workers=1", "classes.faulty.worker=test", "classes.faulty.min_workers=1",
                                 "classes.faulty.args.allow_faults=true", "stub.max_retries=0", "dispatch.min_transform_bytes=0",
                                 "dispatch.rules=[\"text/plain -> test{echo=1,append=[1]} | test{echo=1,append=[2]}\", "
                                 "\"text/html -> faulty{fail=1}\"]"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test", "faulty"})) << c.Log();
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  auto t = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/t.txt");
  EXPECT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.body, "abc[1][2]");
  EXPECT_EQ(t.Header("x-tacc-chain"), "test|test");
  EXPECT_EQ(t.Header("etag"), "") << "a transformed answer kept the original's validator";

  auto h = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/h.html");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.body, "<p>page</p>");
  EXPECT_EQ(h.Header("x-tacc-approximate"), "original");
  EXPECT_NE(h.Header("x-tacc-approximate-reason").find("step 1 (faulty)"), std::string::npos) << h.Header("x-tacc-approximate-reason");

  // A gzip body is decoded for the workers; the answer is the new, uncompressed one.
  auto gz = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/gz.txt");
  EXPECT_EQ(gz.body, "abc[1][2]");
  EXPECT_EQ(gz.Header("Content-Encoding"), "");

  auto keep = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/keep.txt");
  EXPECT_EQ(keep.body, "untouched");
  EXPECT_EQ(keep.Header("x-tacc-chain"), "");
  auto bin = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/b.bin");
  EXPECT_EQ(bin.body, "\x01\x02");
  EXPECT_EQ(bin.Header("x-tacc-chain"), "");
}

// An `auto` rule plans the cheapest chain per request from the types the classes declare
// and what the client accepts: two cheap steps beat one dear one, a client that takes
// the middle type gets one step, and one that takes none of them gets the original.
TEST(TransendTest, AutoRulesPlanTheCheapestChainToWhatTheClientAccepts) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "dispatch.min_transform_bytes=0", "dispatch.rules=[\"text/plain -> auto\"]", 
                                 "classes.tomid.worker=test", "classes.tomid.min_workers=1", "classes.tomid.args.echo=1", "classes.tomid.args.append=[mid]",
                                 "classes.tomid.takes=[\"text/plain\"]", "classes.tomid.produces=[\"text/x-mid\"]", "classes.tomid.cost_hint=1",
                                 "classes.tofinal.worker=test", "classes.tofinal.min_workers=1", "classes.tofinal.args.echo=1",
                                 "classes.tofinal.args.append=[final]", "classes.tofinal.takes=[\"text/x-mid\"]",
                                 "classes.tofinal.produces=[\"text/x-final\"]", "classes.tofinal.cost_hint=1",
                                 "classes.direct.worker=test", "classes.direct.min_workers=1", "classes.direct.args.echo=1",
                                 "classes.direct.args.append=[direct]", "classes.direct.takes=[\"text/plain\"]",
                                 "classes.direct.produces=[\"text/x-final\"]", "classes.direct.cost_hint=5"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"tomid", "tofinal", "direct"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";

  auto two = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url, "", {{"Accept", "text/x-final"}});
  EXPECT_EQ(two.status, 200) << two.body;
  EXPECT_EQ(two.body, "abc[mid][final]");
  EXPECT_EQ(two.Header("x-tacc-chain"), "tomid|tofinal");
  EXPECT_EQ(two.Header("content-type"), "text/x-final");
  EXPECT_NE(two.Header("vary").find("Accept"), std::string::npos) << two.Header("vary");

  auto one = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url, "", {{"Accept", "text/x-mid, text/x-final;q=0.5"}});
  EXPECT_EQ(one.body, "abc[mid]");
  EXPECT_EQ(one.Header("x-tacc-chain"), "tomid");

  auto none = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url, "", {{"Accept", "image/png"}});
  EXPECT_EQ(none.status, 200);
  EXPECT_EQ(none.body, "abc");
  EXPECT_EQ(none.Header("x-tacc-chain"), "");
  EXPECT_NE(none.Header("x-tacc-untransformed").find("text/plain"), std::string::npos) << none.Header("x-tacc-untransformed");
}

// A worker may hand its task on to another class; its stub makes the call, only to a
// class in its handoff_to, and only once per task.
TEST(TransendTest, AWorkerHandsATaskOnThroughItsStub) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "dispatch.min_transform_bytes=0", "stub.max_retries=0", "cache.enabled=false",
                                 "dispatch.rules=[\"text/plain -> front{handoff=fast}\", \"text/html -> front{handoff=test}\", "
                                 "\"application/octet-stream -> front{handoff=fast,handoff_again=front}\"]",
                                 "classes.front.worker=test", "classes.front.min_workers=1", "classes.front.handoff_to=[\"fast\"]",
                                 "classes.fast.worker=test", "classes.fast.min_workers=0", "classes.fast.args.echo=1",
                                 "classes.fast.args.append=[fast]", "classes.fast.handoff_to=[\"front\"]"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"front"})) << c.Log();
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  // The fast class has no worker yet: the front worker's stub asks the manager for one.
  auto t = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/t.txt");
  EXPECT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.body, "abc[fast]");
  EXPECT_EQ(t.Header("x-tacc-approximate"), "");

  // A class not in handoff_to: a worker error, so the original, marked approximate.
  auto h = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/h.html");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "<p>page</p>");
  EXPECT_NE(h.Header("x-tacc-approximate-reason").find("not in classes.front.handoff_to"), std::string::npos) << h.Header("x-tacc-approximate-reason");

  // A handed-on task handed on again: refused by the second stub, whatever its class allows.
  auto b = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/b.bin");
  EXPECT_EQ(b.body, "\x01\x02");
  EXPECT_NE(b.Header("x-tacc-approximate-reason").find("handed on already"), std::string::npos) << b.Header("x-tacc-approximate-reason");
}

// Rules come from the configuration file and change on SIGHUP, without a restart: the
// front end's pid and an open keep-alive connection both survive the reload.
TEST(TransendTest, DispatchRulesReloadOnSighupWithoutRestartingFrontEnds) {
  TestOrigin origin(TypedAnswer);
  std::string file = "/tmp/tacc-it-rules-" + std::to_string(::getpid()) + ".toml";
  RemoveAtEnd remove_file{file};
  auto write_rules = [&](const std::string& mark) {
    std::ofstream(file) << "[dispatch]\nmin_transform_bytes = 0\nrules = [\"text/plain -> test{echo=1,append=" + mark + "}\"]\n";
  };
  write_rules("[old]");
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "classes.test.min_workers=1"},
                    .config_file = file});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test"})) << c.Log();
  pid_t fe = FrontendPidOf(c);
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";
  EXPECT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url).body, "abc[old]");
  // A keep-alive connection opened before the reload, used after it.
  asio::io_context io;
  tcp::socket kept(io);
  kept.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(c.FrontendPort())));
  boost::beast::flat_buffer kept_buf;
  auto ask_kept = [&] {
    bhttp::request<bhttp::empty_body> q{bhttp::verb::get, url, 11};
    q.set(bhttp::field::host, "x");
    boost::system::error_code ec;
    bhttp::write(kept, q, ec);
    bhttp::response<bhttp::string_body> a;
    if (!ec) bhttp::read(kept, kept_buf, a, ec);
    return ec ? "error: " + ec.message() : a.body();
  };
  EXPECT_EQ(ask_kept(), "abc[old]");

  write_rules("[new]");
  ASSERT_EQ(::kill(c.up_pid(), SIGHUP), 0);
  std::string body;
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until && body != "abc[new]";) {
    body = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url).body;
    if (body != "abc[new]") std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(body, "abc[new]") << c.Log();
  EXPECT_EQ(FrontendPidOf(c), fe) << "the front end was restarted to reload:\n" << c.Log();
  EXPECT_EQ(ask_kept(), "abc[new]") << "the connection opened before the reload did not survive it";
  EXPECT_TRUE(ProcessAlive(fe));
  EXPECT_NE(c.Log().find("configuration reloaded"), std::string::npos);

  // A broken file is refused and the rules in force stay.
  std::ofstream(file) << "[dispatch]\nrules = [\"text/plain test\"]\n";
  ASSERT_EQ(::kill(c.up_pid(), SIGHUP), 0);
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until && c.Log().find("old settings kept") == std::string::npos;)
    std::this_thread::sleep_for(50ms);
  EXPECT_NE(c.Log().find("old settings kept"), std::string::npos) << c.Log();
  EXPECT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url).body, "abc[new]");
}

// ---------------------------------------------------------------- URL API

// A path made by `tacc url sign` fetches its source (through a redirect), runs the
// chain for its type and answers; a tampered, unsigned or ill-optioned path is refused,
// and a redirect to an address the policy refuses is refused at that hop.
TEST(TransendTest, UrlApiServesSignedPathsOnlyAndChecksEveryRedirectHop) {
  const std::string key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:0a0b0c";
  TestOrigin origin([](const TestOrigin::Request& r) {
    std::string t(r.target());
    OriginAnswer a;
    if (t == "/r") a.raw = "HTTP/1.1 302 Found\r\nLocation: /t.txt\r\nContent-Length: 0\r\n\r\n";
    else if (t == "/away") a.raw = "HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.2:9/x\r\nContent-Length: 0\r\n\r\n";
    else a = OkAnswer("abc", "text/plain", "");
    return a;
  });
  std::vector<std::string> sets = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                   "classes.test.min_workers=1", "dispatch.min_transform_bytes=0",
                                   "dispatch.rules=[\"text/plain -> test{echo=1,append=!}\"]", "url_api.keys=[\"" + key + "\"]"};
  ClusterHarness c({.settings = sets});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test"})) << c.Log();
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());
  auto sign = [&](const std::string& src, const std::vector<std::string>& opts) {
    std::vector<std::string> args = {"url", "sign", src, "--set", "url_api.keys=[\"" + key + "\"]"};
    for (auto& o : opts) {
      args.push_back("-o");
      args.push_back(o);
    }
    auto r = RunTacc(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string path = r.output;
    while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
    return path;
  };

  std::string path = sign(base + "/r", {"w:320", "q:60"});
  ASSERT_EQ(path.rfind("/_tacc/t/", 0), 0u) << path;
  auto ok = c.Get(path);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "abc!");
  EXPECT_EQ(ok.Header("X-Tacc-Chain"), "test");
  EXPECT_EQ(origin.targets(), (std::vector<std::string>{"/r", "/t.txt"}));

  std::string tampered = path;
  tampered.replace(tampered.find("w:320"), 5, "w:321");
  EXPECT_EQ(c.Get(tampered).status, 403);
  std::string unsigned_path = "/_tacc/t/unsafe" + path.substr(path.find('/', 9));
  EXPECT_EQ(c.Get(unsigned_path).status, 403);
  auto bad_option = c.Get(sign(base + "/t.txt", {"zoom:2"}));
  EXPECT_EQ(bad_option.status, 400);
  EXPECT_NE(bad_option.body.find("unknown option 'zoom'"), std::string::npos) << bad_option.body;
  EXPECT_EQ(c.Get("/_tacc/t/garbage").status, 400);

  auto away = c.Get(sign(base + "/away", {}));
  EXPECT_EQ(away.status, 403) << away.body;
  EXPECT_NE(away.body.find("127.0.0.2"), std::string::npos) << away.body;
  EXPECT_EQ(origin.targets().size(), 3u) << "a refused request reached the origin";
}

// ---------------------------------------------------------------- profiles and client hints

// The preferences page saves a profile (by address, or by a cookie when asked); the next
// request goes through the chain the profile selects; distill=off passes everything;
// answers shaped by hints say so in Vary, and pages ask for hints with Accept-CH.
TEST(TransendTest, PreferencesChangeTheNextAnswerAndHintsAreDeclared) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "classes.test.min_workers=1", "dispatch.min_transform_bytes=0",
                                 "dispatch.rules=[\"text/plain profile.gray=1 -> test{echo=1,append=[gray]}\", \"text/plain -> test{echo=1,append=[color]}\"]"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";

  auto form = c.Get("/_tacc/prefs");
  EXPECT_EQ(form.status, 200);
  EXPECT_NE(form.body.find("<form method=\"post\""), std::string::npos) << form.body;
  EXPECT_NE(form.body.find("network address (127.0.0.1)"), std::string::npos) << form.body;

  auto before = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(before.body, "abc[color]");
  EXPECT_NE(before.Header("Vary").find("Save-Data"), std::string::npos) << before.Header("Vary");

  auto saved = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "quality=40&gray=1&format=&keyword=tacc");
  EXPECT_EQ(saved.status, 200) << saved.body;
  EXPECT_NE(saved.body.find("Saved."), std::string::npos);
  EXPECT_EQ(saved.Header("Set-Cookie"), "") << "a cookie was set though the user did not ask";
  EXPECT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url).body, "abc[gray]");
  EXPECT_NE(c.Get("/_tacc/prefs").body.find("value=\"40\""), std::string::npos);

  auto remembered = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "distill=off&remember=1");
  EXPECT_EQ(remembered.status, 200) << remembered.body;
  std::string cookie = remembered.Header("Set-Cookie");
  ASSERT_EQ(cookie.rfind("tacc_user=", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  std::string token = cookie.substr(10, 32);
  std::string raw = RawExchange("127.0.0.1", c.FrontendPort(),
                                "GET " + url + " HTTP/1.1\r\nHost: x\r\nCookie: a=b; tacc_user=" + token + "\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("\r\n\r\nabc"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("[gray]"), std::string::npos) << "distill=off did not pass the object untouched:\n" << raw;
  EXPECT_EQ(Lower(raw).find("x-tacc-chain"), std::string::npos) << raw;
  // The address's profile is still its own.
  EXPECT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url).body, "abc[gray]");

  auto bad = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "quality=500");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("quality must be 1-100"), std::string::npos) << bad.body;

  auto page = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", "http://127.0.0.1:" + std::to_string(origin.port()) + "/h.html");
  EXPECT_NE(page.Header("Accept-CH").find("Sec-CH-Viewport-Width"), std::string::npos);
}

// ---------------------------------------------------------------- the virtual cache

// Originals are kept by RFC 9111 in a cache partition (a worker the manager runs):
// fresh ones are answered from it, stale ones revalidated, no-store and other Vary
// values fetched again; distilled variants are kept under fat URLs; losing the
// partition costs only time.
TEST(TransendTest, VirtualCacheKeepsOriginalsAndVariantsAndSurvivesLosingItsPartition) {
  std::atomic<int> conditional{0};
  TestOrigin origin([&](const TestOrigin::Request& r) {
    std::string t(r.target());
    if (t == "/fresh.txt") return OkAnswer("fresh", "text/plain", "Cache-Control: max-age=60\r\nETag: \"f1\"\r\n");
    if (t == "/stale.txt") {
      if (r[boost::beast::http::field::if_none_match] == "\"s1\"") {
        ++conditional;
        OriginAnswer a;
        a.raw = "HTTP/1.1 304 Not Modified\r\nETag: \"s1\"\r\nCache-Control: max-age=0\r\n\r\n";
        return a;
      }
      return OkAnswer("stale", "text/plain", "Cache-Control: max-age=0\r\nETag: \"s1\"\r\n");
    }
    if (t == "/nostore.txt") return OkAnswer("nostore", "text/plain", "Cache-Control: no-store\r\n");
    if (t == "/vary.txt") return OkAnswer(std::string("lang ") + std::string(r["Accept-Language"]), "text/plain", "Cache-Control: max-age=60\r\nVary: Accept-Language\r\n");
    if (t == "/doc.x") return OkAnswer("doc", "text/x-doc", "Cache-Control: max-age=60\r\nETag: \"d1\"\r\n");
    if (t == "/private.x") return OkAnswer("mine", "text/x-doc", "Cache-Control: private\r\nETag: \"p1\"\r\n");
    return OkAnswer("?", "text/plain", "");
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "classes.cache.min_workers=1", "classes.test.min_workers=1", "dispatch.min_transform_bytes=0",
                                 "dispatch.rules=[\"text/x-doc -> test{echo=1,append=!}\"]"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"cache", "test"})) << c.Log();
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());
  auto get = [&](const std::string& path, const std::string& lang = "") {
    std::string raw = "GET " + base + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    if (!lang.empty()) raw += "Accept-Language: " + lang + "\r\n";
    return RawExchange("127.0.0.1", c.FrontendPort(), raw + "\r\n");
  };
  auto count = [&](const std::string& target) {
    auto ts = origin.targets();
    return std::count(ts.begin(), ts.end(), target);
  };

  std::string f1 = get("/fresh.txt"), f2 = get("/fresh.txt");
  EXPECT_NE(Lower(f1).find("x-tacc-cache: miss"), std::string::npos) << f1;
  EXPECT_NE(Lower(f2).find("x-tacc-cache: hit"), std::string::npos) << f2;
  EXPECT_NE(Lower(f2).find("\r\nage: "), std::string::npos) << f2;
  EXPECT_NE(f2.find("\r\n\r\nfresh"), std::string::npos) << f2;
  EXPECT_EQ(count("/fresh.txt"), 1) << "a fresh cached answer went to the origin again";

  get("/stale.txt");
  std::string s2 = get("/stale.txt");
  EXPECT_NE(Lower(s2).find("x-tacc-cache: revalidated"), std::string::npos) << s2;
  EXPECT_NE(s2.find("\r\n\r\nstale"), std::string::npos) << s2;
  EXPECT_EQ(conditional.load(), 1);

  get("/nostore.txt");
  get("/nostore.txt");
  EXPECT_EQ(count("/nostore.txt"), 2);

  EXPECT_NE(get("/vary.txt", "en").find("lang en"), std::string::npos);
  std::string fr = get("/vary.txt", "fr");
  EXPECT_NE(fr.find("lang fr"), std::string::npos) << fr;
  std::string en2 = get("/vary.txt", "en");
  EXPECT_NE(en2.find("lang en"), std::string::npos) << en2;
  // Each variant is kept under its own secondary key: the second 'en' and 'fr' are hits.
  EXPECT_EQ(count("/vary.txt"), 2);
  std::string fr2 = get("/vary.txt", "fr");
  EXPECT_NE(fr2.find("lang fr"), std::string::npos) << fr2;
  EXPECT_NE(Lower(fr2).find("x-tacc-cache: hit"), std::string::npos) << fr2;
  EXPECT_EQ(count("/vary.txt"), 2);

  std::string d1 = get("/doc.x"), d2 = get("/doc.x");
  EXPECT_NE(d1.find("\r\n\r\ndoc!"), std::string::npos) << d1;
  EXPECT_NE(Lower(d2).find("x-tacc-cache: variant-hit"), std::string::npos) << d2;
  EXPECT_NE(d2.find("\r\n\r\ndoc!"), std::string::npos) << d2;
  // A private original's distilled variant is as private as it: never kept.
  get("/private.x");
  std::string p2 = get("/private.x");
  EXPECT_NE(p2.find("\r\n\r\nmine!"), std::string::npos) << p2;
  EXPECT_EQ(Lower(p2).find("x-tacc-cache"), std::string::npos) << p2;
  EXPECT_EQ(count("/private.x"), 2);

  // Lose the partition: answers keep coming (from the origin) and the cache fills again
  // once the manager has restarted it.
  pid_t partition = 0;
  auto latest = c.Latest();
  ASSERT_TRUE(latest.has_value());
  for (auto& w : latest->workers())
    if (w.worker_class() == "cache") partition = static_cast<pid_t>(w.pid());
  ASSERT_GT(partition, 0);
  ASSERT_EQ(::kill(partition, SIGKILL), 0);
  std::string after = get("/fresh.txt");
  EXPECT_EQ(after.rfind("HTTP/1.1 200", 0), 0u) << after;
  EXPECT_NE(after.find("\r\n\r\nfresh"), std::string::npos) << after;
  auto back = c.WaitFor(
      [&](const wire::Beacon& b) {
        for (auto& w : b.workers())
          if (w.worker_class() == "cache" && static_cast<pid_t>(w.pid()) != partition) return true;
        return false;
      },
      15s);
  ASSERT_TRUE(back) << c.Log();
  get("/fresh.txt");
  std::string again = get("/fresh.txt");
  EXPECT_NE(Lower(again).find("x-tacc-cache: hit"), std::string::npos) << again;
}

// An overloaded first class (mean queue over dispatch.overload_queue, as beacons report
// it) gets the original at once, marked approximate (§3.1.8); a reload (no-cache) still
// waits for the exact answer.
TEST(TransendTest, AnOverloadedClassGetsApproximateAnswersUnlessTheClientAsksForExact) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "classes.test.min_workers=1", "classes.test.max_workers=1", "classes.test.args.cost_ms=400",
                                 "dispatch.min_transform_bytes=0", "dispatch.overload_queue=1.5", "dispatch.chain_deadline_ms=20000",
                                 "stub.task_timeout_ms=20000", "dispatch.rules=[\"text/plain -> test{echo=1,append=!}\"]"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";
  // Keep the one worker's queue long: 6 clients in a loop, each task 400 ms. They ask
  // for exact answers (no-cache), so they always queue: plain requests would get quick
  // approximate answers while the class looks overloaded, the queue would drain, and the
  // load would swing above and below the threshold (a CI run under ASan caught a low).
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  const std::string exact_request = "GET " + url + " HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 6; ++i)
    load.emplace_back([&] {
      while (!stop) RawExchange("127.0.0.1", c.FrontendPort(), exact_request, 30s);
    });
  auto busy = c.WaitFor(
      [](const wire::Beacon& b) {
        for (auto& cs : b.classes())
          if (cs.name() == "test" && cs.mean_load() > 2.5) return true;
        return false;
      },
      20s);
  EXPECT_TRUE(busy.has_value()) << "the class never looked overloaded";
  // The front end acts on its own copy of the beacons, which may trail the harness's by a
  // beacon or two (under ASan, seconds): ask until it sees the overload, bounded.
  auto quick = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  for (int i = 0; i < 40 && quick.Header("X-Tacc-Approximate").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    quick = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  }
  EXPECT_EQ(quick.body, "abc");
  EXPECT_EQ(quick.Header("X-Tacc-Approximate"), "original");
  EXPECT_NE(quick.Header("X-Tacc-Approximate-Reason").find("overloaded"), std::string::npos) << quick.Header("X-Tacc-Approximate-Reason");
  std::string exact = RawExchange("127.0.0.1", c.FrontendPort(),
                                  "GET " + url + " HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n", 30s);
  EXPECT_NE(exact.find("\r\n\r\nabc!"), std::string::npos) << exact;
  stop = true;
  for (auto& t : load) t.join();
}

// `tacc cache` started by hand joins the cluster as one more partition (as on another
// host), and the front end spreads keys over both.
TEST(TransendTest, ACachePartitionStartedByHandJoinsTheCluster) {
  ClusterHarness c({.settings = {"frontend.service=transend", "classes.cache.min_workers=1", "classes.cache.max_workers=2"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"cache"})) << c.Log();
  c.SpawnTacc({"cache"});
  auto two = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "cache") == 2; }, 15s);
  EXPECT_TRUE(two.has_value()) << c.Log();
}

// ---------------------------------------------------------------- a worker killed mid-chain

// A counter from the front end's metrics page (0 before it is first counted: counters
// appear with their first use); -1 if the page does not answer.

// The one worker of `cls` in the newest beacon (0: none, or more than one).
pid_t OnlyWorkerOf(const ClusterHarness& c, const std::string& cls) {
  auto b = c.Latest();
  pid_t pid = 0;
  int n = 0;
  if (b)
    for (const auto& w : b->workers())
      if (w.worker_class() == cls) {
        pid = static_cast<pid_t>(w.pid());
        ++n;
      }
  return n == 1 ? pid : 0;
}

// Settings for the killed-worker tests: a chain "test | slow" over text/plain whose
// second step sleeps `cost_ms` in the one worker of class "slow", deadlines well above it.
std::vector<std::string> KilledWorkerSettings(int max_retries, int cost_ms) {
  return {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
          "classes.test.min_workers=1", "classes.slow.worker=test", "classes.slow.min_workers=1", "classes.slow.max_workers=1",
          "stub.max_retries=" + std::to_string(max_retries), "stub.task_timeout_ms=60000", "dispatch.chain_deadline_ms=60000",
          "dispatch.min_transform_bytes=0",
          "dispatch.rules=[\"text/plain -> test{echo=1,append=[1]} | slow{echo=1,append=[2],cost_ms=" + std::to_string(cost_ms) + "}\"]"};
}

// Sends GET `url` through the proxy on a thread of its own, waits until the beacons show
// the slow worker `victim` with the task in its queue (it is running it: the class has
// nothing else to do), kills it with SIGKILL and returns what the client got.
HttpReply KillTheWorkerWhileItRunsTheTask(ClusterHarness& c, pid_t victim, const std::string& url) {
  HttpReply reply;
  std::thread client([&] { reply = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url, "", 90s); });
  auto running = c.WaitFor(
      [&](const wire::Beacon& b) {
        for (const auto& w : b.workers())
          if (static_cast<pid_t>(w.pid()) == victim && w.load() > 0) return true;
        return false;
      },
      30s);
  EXPECT_TRUE(running.has_value()) << "the slow worker never reported the task:\n" << c.Log();
  EXPECT_EQ(::kill(victim, SIGKILL), 0);
  client.join();
  return reply;
}

// The manager's replacement for `victim`: a worker of `cls` with another pid.
bool WaitForReplacement(ClusterHarness& c, const std::string& cls, pid_t victim) {
  return c
      .WaitFor(
          [&](const wire::Beacon& b) {
            for (const auto& w : b.workers())
              if (w.worker_class() == cls && static_cast<pid_t>(w.pid()) != victim) return true;
            return false;
          },
          20s)
      .has_value();
}

// A worker killed while it runs the second step of a chain, with no retries
// (stub.max_retries=0): the client gets the original at once, marked approximate with
// the step that failed; the front end lives on, and the manager starts a new worker.
TEST(TransendTest, AWorkerKilledMidChainGetsTheOriginalMarkedApproximate) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = KilledWorkerSettings(/*max_retries=*/0, /*cost_ms=*/30000)});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test", "slow"})) << c.Log();
  pid_t victim = OnlyWorkerOf(c, "slow");
  ASSERT_GT(victim, 0);
  pid_t fe = FrontendPidOf(c);
  int64_t retries = c.Metric("tacc_stub_retries_total"), failures = c.Metric("tacc_stub_failures_total");
  std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  auto start = std::chrono::steady_clock::now();
  HttpReply r = KillTheWorkerWhileItRunsTheTask(c, victim, base + "/t.txt");
  EXPECT_EQ(r.status, 200) << r.error << r.body << c.Log();
  EXPECT_EQ(r.body, "abc") << "not the original";
  EXPECT_EQ(r.Header("X-Tacc-Approximate"), "original");
  EXPECT_NE(r.Header("X-Tacc-Approximate-Reason").find("step 2 (slow)"), std::string::npos) << r.Header("X-Tacc-Approximate-Reason");
  EXPECT_EQ(r.Header("X-Tacc-Chain"), "");
  EXPECT_EQ(r.Header("ETag"), "\"v1\"") << "the original goes out with its own validator";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 25s) << "the answer waited for the task's cost, not for the crash";
  EXPECT_EQ(c.Metric("tacc_stub_retries_total"), retries);
  EXPECT_EQ(c.Metric("tacc_stub_failures_total"), failures + 1);

  EXPECT_TRUE(WaitForReplacement(c, "slow", victim)) << c.Log();
  EXPECT_FALSE(ProcessAlive(victim));
  EXPECT_EQ(FrontendPidOf(c), fe) << "the front end was restarted";
  EXPECT_TRUE(ProcessAlive(fe));
  auto other = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/b.bin");
  EXPECT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.body, "\x01\x02");
}

// The same with one retry (the default): the task is retried on the manager's
// replacement for the killed worker (the class has no other), which answers exactly;
// the front end counts the retry.
TEST(TransendTest, AWorkerKilledMidChainIsRetriedOnItsReplacement) {
  TestOrigin origin(TypedAnswer);
  ClusterHarness c({.settings = KilledWorkerSettings(/*max_retries=*/1, /*cost_ms=*/5000)});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"test", "slow"})) << c.Log();
  pid_t victim = OnlyWorkerOf(c, "slow");
  ASSERT_GT(victim, 0);
  pid_t fe = FrontendPidOf(c);
  int64_t retries = c.Metric("tacc_stub_retries_total"), failures = c.Metric("tacc_stub_failures_total");

  HttpReply r = KillTheWorkerWhileItRunsTheTask(c, victim, "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt");
  EXPECT_EQ(r.status, 200) << r.error << r.body << c.Log();
  EXPECT_EQ(r.body, "abc[1][2]");
  EXPECT_EQ(r.Header("X-Tacc-Approximate"), "") << r.Header("X-Tacc-Approximate-Reason");
  EXPECT_EQ(r.Header("X-Tacc-Chain"), "test|slow");
  EXPECT_EQ(c.Metric("tacc_stub_retries_total"), retries + 1);
  EXPECT_EQ(c.Metric("tacc_stub_failures_total"), failures);
  EXPECT_TRUE(WaitForReplacement(c, "slow", victim)) << c.Log();
  EXPECT_EQ(FrontendPidOf(c), fe) << "the front end was restarted";
  EXPECT_TRUE(ProcessAlive(fe));
}

}  // namespace
}  // namespace tacc::testing
