// The "rebuild" failover way's exchange: a front end's ConnectionReporter and a
// dispatcher's GatherConnections, over real sockets on loopback, and the socket table
// (SocketTable) they read.
#include "frontdoor/connection_rebuild.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>

#include "async_test_util.h"
#include "common/socket_table.h"
#include "sns/connection_reporter.h"
#include "wire/cluster.pb.h"
#include "wire/datagram_seal.h"

namespace tacc {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

wire::ClusterAuthPtr Auth(uint8_t fill, std::string cluster = "c1") {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(fill);
  return std::make_shared<wire::ClusterAuth>(wire::ClusterAuth{std::move(cluster), ClusterKey::FromBytes(b)});
}

constexpr int64_t kNow = 1'800'000'000'000;

// A socket table with two connections, whatever is asked.
sns::ConnectionReporter::Lister TwoConnections(std::atomic<int>* calls = nullptr, size_t* asked_max = nullptr) {
  return [calls, asked_max](const asio::ip::address&, uint16_t, size_t max, bool* truncated) -> Result<std::vector<EstablishedConnection>> {
    if (calls) ++*calls;
    if (asked_max) *asked_max = max;
    if (truncated) *truncated = false;
    std::vector<EstablishedConnection> v(2);
    v[0] = {asio::ip::make_address("10.0.0.1"), 40001, 7, 9};
    v[1] = {asio::ip::make_address("10.0.0.2"), 40002, 0, 14};
    return v;
  };
}

frontdoor::RebuildSource Source(uint16_t port = 8080) {
  frontdoor::RebuildSource s;
  s.backend_id = "10.0.1.2:8080";
  s.admin_host = "127.0.0.1";
  s.admin_port = 1;
  s.local_host = "10.0.1.2";
  s.local_port = port;
  return s;
}

TEST(ConnectionReporterTest, AnswersAnAuthenticQueryWithItsConnectionsAndTheNonce) {
  auto auth = Auth(1);
  sns::ConnectionReporter reporter(auth, 8080, TwoConnections());
  auto query = frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-0123456789", 100, kNow);
  auto report = reporter.Answer(query, kNow + 5);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  bool truncated = true;
  auto conns = frontdoor::ParseConnectionReport(*auth, *report, "nonce-0123456789", kNow + 10, &truncated);
  ASSERT_TRUE(conns.ok()) << conns.status().ToString();
  ASSERT_EQ(conns->size(), 2u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ((*conns)[0].client.to_string(), "10.0.0.1");
  EXPECT_EQ((*conns)[0].client_port, 40001);
  EXPECT_EQ((*conns)[0].client_wscale, 7);
  EXPECT_EQ((*conns)[0].server_wscale, 9);
  EXPECT_EQ((*conns)[1].server_wscale, 14);
  // The report is for this query only.
  EXPECT_EQ(frontdoor::ParseConnectionReport(*auth, *report, "another-nonce-00", kNow + 10, nullptr).status().kind(), ErrorKind::kProtocol);
}

TEST(ConnectionReporterTest, RefusesQueriesWithoutTheKeyOfAnotherClusterStaleOrReplayed) {
  auto auth = Auth(1);
  std::atomic<int> calls{0};
  sns::ConnectionReporter reporter(auth, 8080, TwoConnections(&calls));
  auto forged = frontdoor::MakeConnectionQuery(*Auth(2), Source(), "nonce-aaaaaaaaaa", 100, kNow);
  EXPECT_EQ(reporter.Answer(forged, kNow).status().kind(), ErrorKind::kForbidden);
  auto other = frontdoor::MakeConnectionQuery(*Auth(1, "c2"), Source(), "nonce-bbbbbbbbbb", 100, kNow);
  EXPECT_EQ(reporter.Answer(other, kNow).status().kind(), ErrorKind::kForbidden);
  auto old = frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-cccccccccc", 100, kNow);
  EXPECT_EQ(reporter.Answer(old, kNow + sns::ConnectionReporter::kFreshnessMs + 1).status().kind(), ErrorKind::kForbidden);
  EXPECT_EQ(reporter.Answer("not a sealed query", kNow).status().kind(), ErrorKind::kInvalidArgument);
  // A report is not a query, even when sealed with the key.
  auto report = wire::Seal(auth->key, auth->cluster, wire::DATAGRAM_CONNECTION_REPORT, "", kNow);
  EXPECT_EQ(reporter.Answer(report, kNow).status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(calls.load(), 0) << "no refused query may read the socket table";

  auto fresh = frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-dddddddddd", 100, kNow);
  EXPECT_TRUE(reporter.Answer(fresh, kNow).ok());
  auto replay = reporter.Answer(fresh, kNow + 1000);
  EXPECT_EQ(replay.status().kind(), ErrorKind::kForbidden);
  EXPECT_NE(replay.status().message().find("replay"), std::string::npos) << replay.status().message();
  EXPECT_EQ(calls.load(), 1);
}

TEST(ConnectionReporterTest, OnlyItsOwnPortAndAtMostTheCap) {
  auto auth = Auth(1);
  size_t asked = 0;
  sns::ConnectionReporter reporter(auth, 8080, TwoConnections(nullptr, &asked));
  auto wrong_port = frontdoor::MakeConnectionQuery(*auth, Source(22), "nonce-eeeeeeeeee", 100, kNow);
  EXPECT_EQ(reporter.Answer(wrong_port, kNow).status().kind(), ErrorKind::kInvalidArgument);
  auto src = Source();
  src.local_host = "not-an-address";
  EXPECT_EQ(reporter.Answer(frontdoor::MakeConnectionQuery(*auth, src, "nonce-ffffffffff", 100, kNow), kNow).status().kind(),
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(reporter.Answer(frontdoor::MakeConnectionQuery(*auth, Source(), "short", 100, kNow), kNow).status().kind(), ErrorKind::kInvalidArgument);
  ASSERT_TRUE(reporter.Answer(frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-gggggggggg", 4'000'000'000u, kNow), kNow).ok());
  EXPECT_EQ(asked, sns::ConnectionReporter::kMaxConnections);
}

TEST(ConnectionReporterTest, RemembersABoundedNumberOfNonces) {
  auto auth = Auth(1);
  sns::ConnectionReporter reporter(auth, 8080, TwoConnections());
  for (size_t i = 0; i < sns::ConnectionReporter::kRememberedNonces + 10; ++i)
    ASSERT_TRUE(reporter.Answer(frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-" + std::to_string(1'000'000 + i), 1, kNow), kNow).ok());
  // The newest are still refused as replays.
  auto last = frontdoor::MakeConnectionQuery(*auth, Source(), "nonce-" + std::to_string(1'000'000 + sns::ConnectionReporter::kRememberedNonces + 9), 1, kNow);
  EXPECT_EQ(reporter.Answer(last, kNow).status().kind(), ErrorKind::kForbidden);
}

TEST(ConnectionReportTest, OutOfRangeEntriesAreLeftOut) {
  auto auth = Auth(1);
  wire::ConnectionReport r;
  r.set_nonce("nonce-hhhhhhhhhh");
  auto add = [&](std::string client, uint32_t port, uint32_t cws, uint32_t sws) {
    auto* c = r.add_connections();
    c->set_client(std::move(client));
    c->set_client_port(port);
    c->set_client_wscale(cws);
    c->set_server_wscale(sws);
  };
  add("10.0.0.9", 1234, 7, 7);    // good
  add("10.0.0.9", 70000, 7, 7);   // port out of range
  add("10.0.0.9", 0, 7, 7);       // port 0
  add("nowhere", 1234, 7, 7);     // not an address
  add("10.0.0.9", 1235, 15, 7);   // window scale over 14
  auto sealed = wire::Seal(auth->key, auth->cluster, wire::DATAGRAM_CONNECTION_REPORT, r.SerializeAsString(), kNow);
  auto conns = frontdoor::ParseConnectionReport(*auth, sealed, "nonce-hhhhhhhhhh", kNow, nullptr);
  ASSERT_TRUE(conns.ok());
  ASSERT_EQ(conns->size(), 1u);
  EXPECT_EQ((*conns)[0].client_port, 1234);
  // Not sealed with the key: refused whole.
  auto forged = wire::Seal(Auth(3)->key, auth->cluster, wire::DATAGRAM_CONNECTION_REPORT, r.SerializeAsString(), kNow);
  EXPECT_EQ(frontdoor::ParseConnectionReport(*auth, forged, "nonce-hhhhhhhhhh", kNow, nullptr).status().kind(), ErrorKind::kProtocol);
}

// A front end's admin endpoint in miniature: POST /_tacc/connections answered by a
// ConnectionReporter, or (hang) a listener that accepts and never answers.
class FakeAdmin {
 public:
  FakeAdmin(asio::io_context& ctx, wire::ClusterAuthPtr auth, bool hang)
      : acceptor_(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), reporter_(std::move(auth), 8080, TwoConnections()), hang_(hang) {
    asio::co_spawn(ctx, Serve(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int served = 0;

 private:
  asio::awaitable<void> Serve() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      if (hang_) {
        held_.push_back(std::move(socket));
        continue;
      }
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      auto [rec, rn] = co_await bhttp::async_read(socket, buf, req, kUseTuple);
      if (rec) continue;
      bhttp::response<bhttp::string_body> res(bhttp::status::ok, 11);
      auto report = reporter_.Answer(req.body(), wire::NowUnixMs());
      if (!report.ok()) res.result(bhttp::status::forbidden);
      res.body() = report.ok() ? *report : report.status().message();
      res.prepare_payload();
      ++served;
      co_await bhttp::async_write(socket, res, kUseTuple);
    }
  }
  tcp::acceptor acceptor_;
  sns::ConnectionReporter reporter_;
  bool hang_;
  std::vector<tcp::socket> held_;
};

TEST(GatherConnectionsTest, AsksEveryFrontEndAtOnceAndBoundsEachByTheTimeout) {
  asio::io_context ctx;
  auto auth = Auth(1);
  FakeAdmin good(ctx, auth, false), hung(ctx, auth, true), other_key(ctx, Auth(2), false);
  // A port nobody listens on: take one and close it.
  uint16_t closed_port;
  {
    tcp::acceptor a(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  std::vector<frontdoor::RebuildSource> sources(4, Source());
  sources[0].admin_port = good.port();
  sources[1].admin_port = hung.port();
  sources[2].admin_port = other_key.port();
  sources[3].admin_port = closed_port;
  frontdoor::RebuildLimits limits;
  limits.timeout = 300ms;
  std::vector<frontdoor::RebuildAnswer> answers;
  auto started = std::chrono::steady_clock::now();
  testing::RunCoroutine(ctx, [&]() -> asio::awaitable<void> { answers = co_await frontdoor::GatherConnections(auth, sources, limits); }, 5s);
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(answers.size(), 4u);
  ASSERT_TRUE(answers[0].status.ok()) << answers[0].status.ToString();
  EXPECT_EQ(answers[0].connections.size(), 2u);
  EXPECT_EQ(answers[1].status.kind(), ErrorKind::kTimeout) << answers[1].status.ToString();
  // The front end with another key refuses the query (403): nothing is taken from it.
  EXPECT_EQ(answers[2].status.kind(), ErrorKind::kProtocol) << answers[2].status.ToString();
  EXPECT_TRUE(answers[2].connections.empty());
  EXPECT_EQ(answers[3].status.kind(), ErrorKind::kUnavailable) << answers[3].status.ToString();
  // Asked at once: the hung one costs one timeout, not one per front end after it.
  EXPECT_LT(took, 3s);
  EXPECT_EQ(good.served, 1);
}

TEST(SocketTableTest, ListsTheEstablishedConnectionsToOneLocalAddressAndPort) {
  asio::io_context ctx;
  tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto local = acceptor.local_endpoint();
  std::vector<tcp::socket> clients, servers;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back(ctx);
    clients.back().connect(local);
    servers.push_back(acceptor.accept());
  }
  auto conns = ListEstablishedTcp(local.address(), local.port(), 100);
  ASSERT_TRUE(conns.ok()) << conns.status().ToString();
  // Both ends of each loopback connection are sockets of this host; only the server
  // ends have the asked local address and port.
  ASSERT_EQ(conns->size(), 3u);
  for (auto& c : clients) {
    auto ep = c.local_endpoint();
    auto found = std::find_if(conns->begin(), conns->end(), [&](const EstablishedConnection& e) { return e.remote == ep.address() && e.remote_port == ep.port(); });
    EXPECT_NE(found, conns->end()) << "client port " << ep.port() << " not listed";
    if (found != conns->end()) {
      EXPECT_LE(found->remote_wscale, 14);
    }
  }
  // Linux scales windows on loopback (its default buffers need it): the scales are read.
  EXPECT_GT((*conns)[0].local_wscale, 0);
  bool truncated = false;
  auto two = ListEstablishedTcp(local.address(), local.port(), 2, &truncated);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_TRUE(truncated);
  // Another port: none (the listening socket itself is not established).
  auto none = ListEstablishedTcp(local.address(), static_cast<uint16_t>(local.port() == 65535 ? 1 : local.port() + 1), 100);
  ASSERT_TRUE(none.ok());
  clients[0].close();
  servers[0].close();
  auto after = ListEstablishedTcp(local.address(), local.port(), 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
}

}  // namespace
}  // namespace tacc
