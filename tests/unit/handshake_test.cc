// The cluster-key handshake and the connection limits that keep a peer from costing
// memory it has not sent (wire/handshake.h, wire/connection.h).
#include "wire/handshake.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "async_test_util.h"
#include "common/metrics.h"
#include "wire/connection.h"
#include "wire/frame.h"

namespace tacc::wire {
namespace {

using namespace std::chrono_literals;
using tacc::testing::Event;
using tacc::testing::Pause;
using tacc::testing::RunCoroutine;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Counter& Refused() { return Metrics().counter("tacc_wire_handshakes_refused_total", ""); }

ClusterAuthPtr Auth(uint8_t key_byte, std::string cluster = "c1") {
  std::array<uint8_t, 32> k{};
  k.fill(key_byte);
  return std::make_shared<const ClusterAuth>(ClusterAuth{std::move(cluster), ClusterKey::FromBytes(k)});
}

class HandshakeTest : public ::testing::Test {
 protected:
  HandshakeTest() : acceptor_(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  Endpoint ServerEndpoint() const {
    Endpoint e;
    e.set_host("127.0.0.1");
    e.set_port(acceptor_.local_endpoint().port());
    return e;
  }

  // Accepts one socket and runs the server side of Accept() with `auth` on it; the
  // outcome lands in server_result_ and server_done_ is set.
  void ServeOnce(ClusterAuthPtr auth, Millis timeout = 2s) {
    asio::co_spawn(
        ctx_,
        [this, auth, timeout]() -> asio::awaitable<void> {
          auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
          if (ec) co_return;
          ConnectionOptions o;
          o.auth = auth;
          o.handshake_timeout = timeout;
          o.name = "test peer";
          auto c = co_await Accept(std::move(socket), o);
          server_result_ = c.ok() ? Status::Ok() : c.status();
          if (c.ok()) server_conn_ = *c;
          server_done_.Set();
        },
        asio::detached);
  }

  asio::awaitable<Result<Connection::Ptr>> Dial(ClusterAuthPtr auth) {
    ConnectionOptions o;
    o.auth = std::move(auth);
    auto to = ServerEndpoint();
    co_return co_await Connect(to, o, 2s);
  }

  void Run(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 5s) { RunCoroutine(ctx_, std::move(body), limit); }

  asio::io_context ctx_;
  tcp::acceptor acceptor_;
  Event server_done_{ctx_.get_executor()};
  Status server_result_ = Status::Internal("not run");
  Connection::Ptr server_conn_;
};

TEST_F(HandshakeTest, SameKeyAndClusterConnectAndCarryMessages) {
  Run([&]() -> asio::awaitable<void> {
    ServeOnce(Auth(7));
    auto client = co_await Dial(Auth(7));
    EXPECT_TRUE(co_await server_done_.Wait());
    CO_ASSERT_TRUE(client.ok());
    EXPECT_TRUE(server_result_.ok()) << server_result_.ToString();
    // After the handshake, frames flow as usual.
    Event got(ctx_.get_executor());
    std::string seen;
    server_conn_->Start([&](const Connection::Ptr&, Envelope&& e) { seen = e.task().input(); got.Set(); },
                        [](const Connection::Ptr&, const Status&) {});
    (*client)->Start([](const Connection::Ptr&, Envelope&&) {}, [](const Connection::Ptr&, const Status&) {});
    Envelope e;
    e.mutable_task()->set_input("payload");
    (*client)->Send(e);
    EXPECT_TRUE(co_await got.Wait());
    EXPECT_EQ(seen, "payload");
    (*client)->Close(Status::Cancelled("done"));
    server_conn_->Close(Status::Cancelled("done"));
  });
}

TEST_F(HandshakeTest, WrongKeyIsRefusedOnBothSidesAndCounted) {
  uint64_t before = Refused().value();
  Run([&]() -> asio::awaitable<void> {
    ServeOnce(Auth(7));
    auto client = co_await Dial(Auth(8));
    EXPECT_TRUE(co_await server_done_.Wait());
    // The client refuses the server's proof first, so the server never gets one.
    EXPECT_FALSE(client.ok());
    EXPECT_EQ(client.status().kind(), ErrorKind::kProtocol) << client.status().ToString();
    EXPECT_FALSE(server_result_.ok());
    EXPECT_EQ(server_conn_, nullptr);
  });
  EXPECT_GE(Refused().value(), before + 2);  // counted by both
}

TEST_F(HandshakeTest, OtherClusterWithTheSameKeyIsRefused) {
  Run([&]() -> asio::awaitable<void> {
    ServeOnce(Auth(7, "prod"));
    auto client = co_await Dial(Auth(7, "staging"));
    EXPECT_TRUE(co_await server_done_.Wait());
    EXPECT_FALSE(client.ok());
    EXPECT_FALSE(server_result_.ok());
  });
}

TEST_F(HandshakeTest, StrangerSendingFramesGetsNothingAndIsClosed) {
  Run([&]() -> asio::awaitable<void> {
    ServeOnce(Auth(7));
    tcp::socket s(ctx_);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    // A well-formed registration frame, but no handshake: refused before it is parsed.
    Envelope reg;
    reg.mutable_register_worker()->set_id("evil");
    std::string bytes;
    AppendFrame(reg, bytes);
    bytes.resize(std::max<size_t>(bytes.size(), 64), '\0');
    co_await asio::async_write(s, asio::buffer(bytes), kTuple);
    EXPECT_TRUE(co_await server_done_.Wait());
    EXPECT_EQ(server_result_.kind(), ErrorKind::kProtocol) << server_result_.ToString();
    // The server closed the socket: we read EOF (or reset), never data.
    std::array<char, 256> buf;
    auto [rec, n] = co_await asio::async_read(s, asio::buffer(buf), kTuple);
    EXPECT_TRUE(rec == asio::error::eof || rec == asio::error::connection_reset) << rec.message();
    EXPECT_EQ(n, 0u);
  });
}

TEST_F(HandshakeTest, SilentPeerTimesOut) {
  Run([&]() -> asio::awaitable<void> {
    ServeOnce(Auth(7), 100ms);
    tcp::socket s(ctx_);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    EXPECT_TRUE(co_await server_done_.Wait(2s));
    EXPECT_EQ(server_result_.kind(), ErrorKind::kTimeout) << server_result_.ToString();
  });
}

TEST_F(HandshakeTest, ServerThatDoesNotKnowTheKeyNeverGetsTheClientsProof) {
  // A fake server that answers with a correct-looking hello but a garbage MAC: the
  // client must refuse it and send nothing more (no proof, no messages).
  Run([&]() -> asio::awaitable<void> {
    Event done(ctx_.get_executor());
    size_t after_hello = 99;
    asio::co_spawn(
        ctx_,
        [&]() -> asio::awaitable<void> {
          auto [ec, s] = co_await acceptor_.async_accept(kTuple);
          std::string hello(24, '\0');
          co_await asio::async_read(s, asio::buffer(hello), kTuple);
          std::string reply = "TACCHS01" + std::string(16, 'n') + std::string(32, 'm');
          co_await asio::async_write(s, asio::buffer(reply), kTuple);
          std::array<char, 64> rest;
          auto [rec, n] = co_await asio::async_read(s, asio::buffer(rest), kTuple);
          after_hello = n;
          done.Set();
        },
        asio::detached);
    auto client = co_await Dial(Auth(7));
    EXPECT_FALSE(client.ok());
    EXPECT_TRUE(co_await done.Wait());
    EXPECT_EQ(after_hello, 0u);
  });
}

// ---------------------------------------------------------------- connection limits

class ConnectionLimitsTest : public HandshakeTest {};

TEST_F(ConnectionLimitsTest, AnnouncedHugeFrameDoesNotAllocateItsLength) {
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    auto [aec, accepted] = co_await acceptor_.async_accept(kTuple);
    ConnectionOptions o;
    o.max_frame_bytes = 512 * 1024 * 1024;
    auto server = Connection::Create(std::move(accepted), o);
    server->Start([](const Connection::Ptr&, Envelope&&) {}, [](const Connection::Ptr&, const Status&) {});
    // Announce 500 MB, send 100 KB of it.
    uint32_t n = 500u * 1024 * 1024;
    std::string bytes = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
    bytes += std::string(100 * 1024, 'x');
    co_await asio::async_write(s, asio::buffer(bytes), kTuple);
    co_await Pause(100ms);
    EXPECT_TRUE(server->is_open());
    EXPECT_LT(server->read_buffer_bytes(), 1024u * 1024) << "the buffer followed the header, not the bytes";
    server->Close(Status::Cancelled("done"));
  });
}

TEST_F(ConnectionLimitsTest, PeerThatDoesNotReadIsClosedAtTheOutboxBound) {
  Run([&]() -> asio::awaitable<void> {
    tcp::socket s(ctx_);  // never reads
    auto [cec] = co_await s.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    auto [aec, accepted] = co_await acceptor_.async_accept(kTuple);
    ConnectionOptions o;
    o.max_outbox_bytes = 64 * 1024;
    auto server = Connection::Create(std::move(accepted), o);
    Status why;
    server->Start([](const Connection::Ptr&, Envelope&&) {}, [&](const Connection::Ptr&, const Status& s) { why = s; });
    Envelope e;
    e.mutable_task_result()->set_output(std::string(1024, 'r'));
    // Queued faster than any socket drains (no co_await in between): the bound bites.
    for (int i = 0; i < 200 && server->is_open(); ++i) server->Send(e);
    EXPECT_FALSE(server->is_open());
    EXPECT_EQ(why.kind(), ErrorKind::kOverloaded) << why.ToString();
  });
}

TEST_F(ConnectionLimitsTest, HeartbeatsKeepAQuietConnectionOpenBothWays) {
  Run([&]() -> asio::awaitable<void> {
    tcp::socket cs(ctx_);
    auto [cec] = co_await cs.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    auto [aec, accepted] = co_await acceptor_.async_accept(kTuple);
    ConnectionOptions o;
    o.idle_timeout = 150ms;
    o.heartbeat_interval = 40ms;
    auto a = Connection::Create(std::move(cs), o);
    auto b = Connection::Create(std::move(accepted), o);
    int messages = 0;
    auto count = [&](const Connection::Ptr&, Envelope&&) { ++messages; };
    a->Start(count, [](const Connection::Ptr&, const Status&) {});
    b->Start(count, [](const Connection::Ptr&, const Status&) {});
    co_await Pause(600ms);  // four idle timeouts with no application message
    EXPECT_TRUE(a->is_open());
    EXPECT_TRUE(b->is_open());
    EXPECT_EQ(messages, 0) << "heartbeats are not handed to the application";
    a->Close(Status::Cancelled("done"));
    b->Close(Status::Cancelled("done"));
  }, 5s);
}

TEST_F(ConnectionLimitsTest, WithoutHeartbeatsTheOtherSideTimesOut) {
  Run([&]() -> asio::awaitable<void> {
    tcp::socket cs(ctx_);
    auto [cec] = co_await cs.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), acceptor_.local_endpoint().port()), kTuple);
    CO_ASSERT_TRUE(!cec);
    auto [aec, accepted] = co_await acceptor_.async_accept(kTuple);
    ConnectionOptions quiet, watching;
    watching.idle_timeout = 150ms;
    auto a = Connection::Create(std::move(cs), quiet);
    auto b = Connection::Create(std::move(accepted), watching);
    Event closed(ctx_.get_executor());
    Status why;
    a->Start([](const Connection::Ptr&, Envelope&&) {}, [](const Connection::Ptr&, const Status&) {});
    b->Start([](const Connection::Ptr&, Envelope&&) {}, [&](const Connection::Ptr&, const Status& s) { why = s; closed.Set(); });
    EXPECT_TRUE(co_await closed.Wait(2s));
    EXPECT_EQ(why.kind(), ErrorKind::kTimeout);
    a->Close(Status::Cancelled("done"));
  });
}

}  // namespace
}  // namespace tacc::wire
