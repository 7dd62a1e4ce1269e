// The l7 dispatcher's HTTP path on loopback (HttpRouter, RelayParser): what a back end
// receives is the request re-framed (fields serialized afresh, Connection and
// X-Forwarded-For decided by the dispatcher, chunks re-chunked without extensions or
// trailers), answers come back framed for the client's HTTP version, interim answers are
// passed on, kept back-end connections the back end closes are dropped while idle, and
// one closed under a request is replaced by a fresh connection for a repeatable request
// only.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "common/config.h"
#include "common/metrics.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/http_router.h"
#include "frontdoor/pick_policy.h"
#include "frontdoor/relay_parser.h"

namespace tacc::frontdoor {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- RelayParser alone

template <bool isRequest>
std::string ParseHead(RelayParser<isRequest>& p, std::string_view bytes) {
  boost::beast::error_code ec;
  p.eager(false);
  size_t used = p.put(asio::buffer(bytes.data(), bytes.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(p.is_header_done());
  return std::string(bytes.substr(used));
}

TEST(RelayParserTest, WritesTheHeadAfreshAndKeepsWhatTheDispatcherDecidesApart) {
  std::string head;
  RelayParser<true> p(head);
  ParseHead(p, "GET /a?b=1 HTTP/1.1\r\nHost: example.org\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive, X-Hop\r\nx-other:   spaced  \r\n"
               "X-Forwarded-For: 10.0.0.2\r\n\r\n");
  EXPECT_EQ(head, "GET /a?b=1 HTTP/1.1\r\nHost: example.org\r\nx-other: spaced\r\n");
  EXPECT_EQ(p.target(), "/a?b=1");
  EXPECT_EQ(p.host(), "example.org");
  EXPECT_EQ(p.host_fields(), 1);
  EXPECT_EQ(p.forwarded_for(), "10.0.0.1, 10.0.0.2");
  EXPECT_EQ(p.connection_tokens(), "X-Hop");
  EXPECT_TRUE(p.keep_alive());
  EXPECT_TRUE(p.is_done());
}

TEST(RelayParserTest, NotesTheFramingFieldsTheSmugglingChecksNeed) {
  std::string head;
  RelayParser<true> p(head);
  ParseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(p.host_fields(), 2);
  EXPECT_EQ(p.host(), "a");
  EXPECT_EQ(p.transfer_encoding_fields(), 2);
  EXPECT_EQ(p.transfer_encoding(), "gzip");
  EXPECT_FALSE(p.has_content_length_field());
}

TEST(RelayParserTest, ReChunksABodyWithoutExtensionsOrTrailers) {
  std::string head;
  RelayParser<false> p(head);
  std::string rest = ParseHead(p, "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  EXPECT_EQ(head, "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\n");
  EXPECT_EQ(p.status(), 200);
  char buf[256];
  p.LendBody(buf);
  boost::beast::error_code ec;
  std::string_view in(rest);
  while (!p.is_done() && !ec) in.remove_prefix(p.put(asio::buffer(in.data(), in.size()), ec));
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(buf, p.body_size()), "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(head.find("X-Trailer"), std::string::npos);
}

TEST(RelayParserTest, ABodyLargerThanTheLentBufferAsksForAnother) {
  std::string head;
  RelayParser<true> p(head);
  std::string rest = ParseHead(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
  char buf[4];
  std::string got;
  boost::beast::error_code ec;
  std::string_view in(rest);
  while (!p.is_done()) {
    p.LendBody(buf);
    ec = {};
    in.remove_prefix(p.put(asio::buffer(in.data(), in.size()), ec));
    ASSERT_TRUE(!ec || ec == bhttp::error::need_buffer) << ec.message();
    got.append(buf, p.body_size());
  }
  EXPECT_EQ(got, "0123456789");
}

// ---------------------------------------------------------------- through the router

// A blocking loopback socket with a receive timeout (tests never hang on it).
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {
    timeval tv{3, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  static Conn To(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return Conn(fd);
  }
  Conn(Conn&& o) noexcept : fd_(std::exchange(o.fd_, -1)), in_(std::move(o.in_)) {}
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool Send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `in_` holds `pred`'s length (> 0); false at EOF or timeout.
  bool ReadUntil(const std::function<size_t(const std::string&)>& pred, std::string* out) {
    for (;;) {
      if (size_t n = pred(in_)) {
        *out = in_.substr(0, n);
        in_.erase(0, n);
        return true;
      }
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in_.append(buf, static_cast<size_t>(n));
    }
  }
  // One whole HTTP message (head, then Content-Length bytes or chunks to the last one).
  bool ReadMessage(std::string* out) { return ReadUntil(MessageLength, out); }
  bool ClosedByPeer() {  // EOF within the timeout
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  void Close() {
    ::close(fd_);
    fd_ = -1;
  }

  static size_t MessageLength(const std::string& s) {
    size_t end = s.find("\r\n\r\n");
    if (end == std::string::npos) return 0;
    end += 4;
    std::string lower = s.substr(0, end);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      size_t last = s.find("\r\n0\r\n\r\n", end - 2);
      return last == std::string::npos ? 0 : last + 7;
    }
    size_t cl = lower.find("content-length: ");
    size_t len = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 16));
    return s.size() >= end + len ? end + len : 0;
  }

 private:
  int fd_;
  std::string in_;
};

// A back end on loopback that answers each request as `answer` says, recording every
// request it received (raw) with the connection it came on.
class ScriptedBackend {
 public:
  struct Seen {
    int connection;  // which connection it came on (0, 1, ... in accept order)
    int on_connection;  // the how-manieth request on that connection (0 first)
    std::string request;
  };
  enum class Then { kKeep, kClose };
  struct Answer {
    std::string bytes;  // empty: none (the connection is closed instead)
    Then then = Then::kKeep;
  };
  using Script = std::function<Answer(const Seen&)>;

  explicit ScriptedBackend(Script script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ScriptedBackend() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : workers_) t.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int connections() const { return connections_; }
  // Closes every connection it holds open now (a back end's idle timeout).
  void CloseAll() { ++generation_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      int index = connections_++;
      workers_.emplace_back([this, c, index] { ServeConnection(c, index); });
    }
  }
  void ServeConnection(int fd, int index) {
    timeval tv{0, 20'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string in;
    const int generation = generation_;
    int served = 0;
    auto deadline = Clock::now() + 10s;
    while (!stop_ && generation == generation_ && Clock::now() < deadline) {
      size_t n = Conn::MessageLength(in);
      if (n == 0) {
        char buf[4096];
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r == 0) break;
        if (r > 0) in.append(buf, static_cast<size_t>(r));
        continue;
      }
      Seen s{index, served++, in.substr(0, n)};
      in.erase(0, n);
      {
        std::lock_guard lock(mu_);
        seen_.push_back(s);
      }
      Answer a = script_(s);
      if (a.bytes.empty()) break;
      ::send(fd, a.bytes.data(), a.bytes.size(), MSG_NOSIGNAL);
      if (a.then == Then::kClose) break;
    }
    ::close(fd);
  }

  Script script_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> generation_{0};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // joined at the end (tests make a handful)
  std::mutex mu_;
  std::vector<Seen> seen_;
};

std::string Ok(std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

// An HttpRouter on 127.0.0.1 (a port the kernel picks) over the given back ends, its
// event loop on a thread of its own.
class Router {
 public:
  explicit Router(const std::vector<uint16_t>& backend_ports) : table_(2, 3) {
    config_.frontdoor.mode = "l7";
    config_.frontdoor.address = "127.0.0.1";
    config_.frontdoor.port = 0;
    config_.frontdoor.policy = "round_robin";
    std::vector<BackendSpec> specs;
    for (auto p : backend_ports) specs.push_back(BackendSpec{"127.0.0.1", p, 1.0});
    table_.SetFrom(kFromConfig, specs);
    policy_ = MakePickPolicy(config_.frontdoor, 1).value();
    router_ = std::make_unique<HttpRouter>(ctx_, config_, table_, *policy_);
    EXPECT_TRUE(router_->Start().ok());
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~Router() {
    std::promise<void> stopped;
    asio::post(ctx_, [&] {
      router_->Stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    ctx_.stop();
    thread_.join();
  }
  uint16_t port() const { return router_->port(); }
  size_t idle_connections() {
    std::promise<size_t> n;
    asio::post(ctx_, [&] { n.set_value(router_->idle_connections()); });
    return n.get_future().get();
  }

 private:
  asio::io_context ctx_;
  Config config_;
  BackendTable table_;
  std::unique_ptr<PickPolicy> policy_;
  std::unique_ptr<HttpRouter> router_;
  std::thread thread_;
};

uint64_t Replayed() { return Metrics().counter("tacc_dispatch_replayed_total", "").value(); }

template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 3s) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

TEST(HttpRouterTest, TheBackEndGetsTheRequestReframedWithTheClientAppended) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) { return ScriptedBackend::Answer{Ok("hi", "Connection: keep-alive\r\nX-From: be\r\n")}; });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 192.0.2.7\r\nConnection: keep-alive, X-Hop\r\nX-Other:   v  \r\nX-Hop: 1\r\n\r\n"));
  std::string answer;
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_EQ(answer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-From: be\r\n\r\nhi");
  auto seen = be.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request, "GET /a HTTP/1.1\r\nHost: h\r\nX-Other: v\r\nX-Hop: 1\r\nX-Forwarded-For: 192.0.2.7, 127.0.0.1\r\nConnection: X-Hop\r\n\r\n");
}

TEST(HttpRouterTest, ChunkedBodiesAreReChunkedBothWays) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) {
    return ScriptedBackend::Answer{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"};
  });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  ASSERT_TRUE(c.Send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;name=v\r\nwxyz\r\n1\r\n!\r\n0\r\nX-Trailer: z\r\n\r\n"));
  std::string answer;
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_EQ(answer, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto seen = be.seen();
  ASSERT_EQ(seen.size(), 1u);
  const std::string& r = seen[0].request;
  auto body_at = r.find("\r\n\r\n") + 4;
  EXPECT_EQ(r.substr(body_at), "4\r\nwxyz\r\n1\r\n!\r\n0\r\n\r\n");
  EXPECT_EQ(r.find("X-Trailer"), std::string::npos);
}

TEST(HttpRouterTest, AnHttp10ClientIsToldTheConnectionIsKeptOnlyWhenItAsked) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) { return ScriptedBackend::Answer{Ok("x")}; });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  std::string answer;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    ASSERT_TRUE(c.ReadMessage(&answer)) << "request " << i;
    EXPECT_NE(answer.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << answer;
  }
  ASSERT_TRUE(c.Send("GET / HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos) << answer;
  EXPECT_TRUE(c.ClosedByPeer());
  // To the back end an HTTP/1.0 request says it keeps the connection.
  auto seen = be.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_NE(seen[2].request.find("\r\nConnection: keep-alive\r\n"), std::string::npos) << seen[2].request;
  EXPECT_EQ(be.connections(), 1);
}

TEST(HttpRouterTest, InterimAnswersArePassedOnBeforeTheFinalOne) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) { return ScriptedBackend::Answer{"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + Ok("done")}; });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string interim, final_answer;
  ASSERT_TRUE(c.ReadUntil([](const std::string& s) { auto e = s.find("\r\n\r\n"); return e == std::string::npos ? 0 : e + 4; }, &interim));
  EXPECT_EQ(interim, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n");
  ASSERT_TRUE(c.ReadMessage(&final_answer));
  EXPECT_TRUE(final_answer.starts_with("HTTP/1.1 200 OK\r\n")) << final_answer;
}

// curl and others send a body over 1 KB only after "100 Continue" (or a second's wait):
// the dispatcher, which reads the body before the back end answers, says it itself.
TEST(HttpRouterTest, AClientThatExpectsContinueIsToldToSendItsBody) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) { return ScriptedBackend::Answer{Ok("stored")}; });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  ASSERT_TRUE(c.Send("PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  std::string interim, answer;
  ASSERT_TRUE(c.ReadUntil([](const std::string& s) { auto e = s.find("\r\n\r\n"); return e == std::string::npos ? 0 : e + 4; }, &interim))
      << "no 100 Continue";
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send("hello"));
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  auto seen = be.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].request.find("Expect"), std::string::npos) << seen[0].request;
  EXPECT_TRUE(seen[0].request.ends_with("\r\n\r\nhello")) << seen[0].request;
}

TEST(HttpRouterTest, AKeptConnectionTheBackEndClosesIsDroppedWhileIdle) {
  ScriptedBackend be([](const ScriptedBackend::Seen&) { return ScriptedBackend::Answer{Ok("x")}; });
  Router router({be.port()});
  Conn c = Conn::To(router.port());
  std::string answer;
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(c.ReadMessage(&answer));
  ASSERT_TRUE(WaitFor([&] { return router.idle_connections() == 1; })) << "the back-end connection was not kept";
  be.CloseAll();
  EXPECT_TRUE(WaitFor([&] { return router.idle_connections() == 0; })) << "a kept connection the back end closed stayed in the pool";
  const uint64_t replayed = Replayed();
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_EQ(Replayed(), replayed) << "the second request went to the dead connection first";
  EXPECT_EQ(be.connections(), 2);
}

// The back end closes a kept connection just as a request arrives on it (its idle
// timeout crossing the request): a GET is sent again on a fresh connection and answered;
// a POST, which the back end might have acted on, gets a 502 instead.
TEST(HttpRouterTest, AKeptConnectionClosedUnderARequestIsReplacedForARepeatableRequestOnly) {
  // Every request after the first on a connection meets the connection closing.
  ScriptedBackend be([](const ScriptedBackend::Seen& s) { return s.on_connection == 0 ? ScriptedBackend::Answer{Ok("x")} : ScriptedBackend::Answer{}; });
  Router router({be.port()});
  std::string answer;
  {
    Conn c = Conn::To(router.port());
    ASSERT_TRUE(c.Send("GET /first HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_TRUE(c.ReadMessage(&answer));
    ASSERT_TRUE(WaitFor([&] { return router.idle_connections() == 1; }));
    const uint64_t replayed = Replayed();
    ASSERT_TRUE(c.Send("GET /second HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_TRUE(c.ReadMessage(&answer));
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
    EXPECT_EQ(Replayed(), replayed + 1);
    auto seen = be.seen();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[1].connection, 0);
    EXPECT_EQ(seen[2].connection, 1);
    EXPECT_EQ(seen[2].request, seen[1].request);
  }
  ASSERT_TRUE(WaitFor([&] { return router.idle_connections() == 1; }));  // connection 1, kept
  const uint64_t replayed = Replayed();
  Conn c = Conn::To(router.port());
  ASSERT_TRUE(c.Send("POST /third HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nz"));
  ASSERT_TRUE(c.ReadMessage(&answer));
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 502")) << answer;
  EXPECT_EQ(Replayed(), replayed);
  EXPECT_EQ(be.seen().size(), 4u) << "the POST was sent more than once";
}

}  // namespace
}  // namespace tacc::frontdoor
