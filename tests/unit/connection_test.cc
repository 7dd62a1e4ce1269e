#include "wire/connection.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <random>

#include "async_test_util.h"
#include "common/metrics.h"

namespace tacc::wire {
namespace {

using namespace std::chrono_literals;
using tacc::testing::Event;
using tacc::testing::Pause;
using tacc::testing::RunCoroutine;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Counter& BadFrames() { return Metrics().counter("tacc_wire_bad_frames_total", ""); }
Counter& LateReplies() { return Metrics().counter("tacc_wire_late_replies_total", ""); }

Envelope TaskEnvelope(const std::string& input) {
  Envelope e;
  e.mutable_task()->set_worker_class("test");
  e.mutable_task()->set_input(input);
  return e;
}

Envelope ResultEnvelope(const std::string& output) {
  Envelope e;
  e.mutable_task_result()->set_output(output);
  return e;
}

// Answers every task with its input.
void Echo(const Connection::Ptr& c, Envelope&& e) {
  if (e.body_case() == Envelope::kTask) c->Reply(e, ResultEnvelope(e.task().input()));
}

// The last close of one connection, as seen by its close handler.
struct CloseRecord {
  explicit CloseRecord(const asio::any_io_executor& ex) : event(ex) {}
  Event event;
  Status why;
  int calls = 0;
  Connection::CloseHandler Handler() {
    return [this](const Connection::Ptr& c, const Status& s) {
      EXPECT_FALSE(c->is_open());
      why = s;
      ++calls;
      event.Set();
    };
  }
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() : acceptor_(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  Endpoint ServerEndpoint() const {
    Endpoint e;
    e.set_host("127.0.0.1");
    e.set_port(acceptor_.local_endpoint().port());
    return e;
  }

  // Dials the acceptor; the connection is not started yet. (Coroutine parameters are
  // passed as named values: GCC 12 miscompiles brace-initialised or converted temporaries
  // passed by value to a coroutine.)
  asio::awaitable<Connection::Ptr> Dial(ConnectionOptions options) {
    auto r = co_await Connect(ServerEndpoint(), std::move(options), 2s);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    co_return r.ok() ? *r : nullptr;
  }

  // Accepts one connection; not started yet.
  asio::awaitable<Connection::Ptr> Accept(ConnectionOptions options) {
    auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
    EXPECT_FALSE(ec) << ec.message();
    if (ec) co_return nullptr;
    co_return Connection::Create(std::move(socket), std::move(options));
  }

  static void Start(const Connection::Ptr& c, Connection::MessageHandler on_message = nullptr,
                    Connection::CloseHandler on_close = nullptr) {
    if (!c) return;
    if (!on_message) on_message = [](const Connection::Ptr&, Envelope&&) {};
    if (!on_close) on_close = [](const Connection::Ptr&, const Status&) {};
    c->Start(std::move(on_message), std::move(on_close));
  }

  void Run(std::function<asio::awaitable<void>()> body) { RunCoroutine(ctx_, std::move(body)); }

  asio::io_context ctx_;
  tcp::acceptor acceptor_;
  ConnectionOptions plain_;
};

TEST_F(ConnectionTest, CallGetsTheReplyAndRequestCarriesIdAndDeadline) {
  Run([&]() -> asio::awaitable<void> {
    Envelope seen;
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr& c, Envelope&& e) {
      seen = e;
      Echo(c, std::move(e));
    });
    CO_ASSERT_TRUE(client && server);
    auto r = co_await client->Call(TaskEnvelope("hello"), 1500ms);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body_case(), Envelope::kTaskResult);
    EXPECT_EQ(r->task_result().output(), "hello");
    EXPECT_TRUE(r->is_reply());
    EXPECT_NE(seen.id(), 0u);
    EXPECT_EQ(r->id(), seen.id());
    EXPECT_FALSE(seen.is_reply());
    EXPECT_EQ(seen.deadline_ms(), 1500u);
    EXPECT_EQ(client->outstanding_calls(), 0u);
    client->Close(Status::Cancelled("test over"));
    server->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, ManyConcurrentCallsAnsweredOutOfOrderGetTheirOwnReplies) {
  constexpr int kCalls = 64;
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<Envelope> held;
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr& c, Envelope&& e) {
      held.push_back(std::move(e));
      if (held.size() < kCalls) return;
      // Everything has arrived: answer in a shuffled order, one-way noise in between.
      std::mt19937 rng(5);
      std::shuffle(held.begin(), held.end(), rng);
      for (auto& req : held) {
        c->Reply(req, ResultEnvelope("re:" + req.task().input()));
        Envelope noise;
        noise.mutable_load_report()->set_queue_length(1);
        c->Send(noise);
      }
    });
    CO_ASSERT_TRUE(client && server);
    std::vector<std::string> got(kCalls);
    int finished = 0;
    Event all_done(ex);
    for (int i = 0; i < kCalls; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> asio::awaitable<void> {
            auto r = co_await client->Call(TaskEnvelope("req" + std::to_string(i)), 3s);
            got[i] = r.ok() ? r->task_result().output() : r.status().ToString();
            if (++finished == kCalls) all_done.Set();
          },
          asio::detached);
    }
    CO_ASSERT_TRUE(co_await all_done.Wait(4s));
    for (int i = 0; i < kCalls; ++i) EXPECT_EQ(got[i], "re:req" + std::to_string(i));
    EXPECT_EQ(client->outstanding_calls(), 0u);
    client->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, OutstandingCallsAreCountedWhileWaiting) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<Envelope> held;
    Event arrived(ex);
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr&, Envelope&& e) {
      held.push_back(std::move(e));
      if (held.size() == 3) arrived.Set();
    });
    CO_ASSERT_TRUE(client && server);
    int answered = 0;
    Event all_answered(ex);
    for (int i = 0; i < 3; ++i)
      asio::co_spawn(
          ex,
          [&]() -> asio::awaitable<void> {
            auto r = co_await client->Call(TaskEnvelope("x"), 3s);
            EXPECT_TRUE(r.ok()) << r.status().ToString();
            if (++answered == 3) all_answered.Set();
          },
          asio::detached);
    CO_ASSERT_TRUE(co_await arrived.Wait());
    EXPECT_EQ(client->outstanding_calls(), 3u);
    server->Reply(held[1], ResultEnvelope("y"));
    for (auto& req : held) server->Reply(req, ResultEnvelope("y"));  // held[1] twice: the duplicate is dropped
    CO_ASSERT_TRUE(co_await all_answered.Wait());
    EXPECT_EQ(client->outstanding_calls(), 0u);
    EXPECT_TRUE(client->is_open());
    client->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, ErrorReplyBecomesItsStatus) {
  Run([&]() -> asio::awaitable<void> {
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, [](const Connection::Ptr& c, Envelope&& e) { c->ReplyError(e, Status::Overloaded("queue full at 256")); });
    CO_ASSERT_TRUE(client && server);
    auto r = co_await client->Call(TaskEnvelope("x"), 2s);
    CO_ASSERT_TRUE(!r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kOverloaded);
    EXPECT_EQ(r.status().message(), "queue full at 256");
    EXPECT_TRUE(client->is_open());  // an error reply is an answer, not a broken connection
    client->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, CallTimesOutAndTheLateReplyIsDroppedHarmlessly) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::optional<Envelope> unanswered;
    Event first_arrived(ex);
    std::vector<Envelope> client_messages;
    auto client = co_await Dial(plain_);
    Start(client, [&](const Connection::Ptr&, Envelope&& e) { client_messages.push_back(std::move(e)); });
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr& c, Envelope&& e) {
      if (!unanswered) {
        unanswered = std::move(e);  // never answered in time
        first_arrived.Set();
        return;
      }
      Echo(c, std::move(e));
    });
    CO_ASSERT_TRUE(client && server);
    uint64_t late_before = LateReplies().value();
    auto start = std::chrono::steady_clock::now();
    auto r = co_await client->Call(TaskEnvelope("slow"), 100ms);
    auto waited = std::chrono::steady_clock::now() - start;
    CO_ASSERT_TRUE(!r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kTimeout) << r.status().ToString();
    EXPECT_GE(waited, 100ms);
    EXPECT_LT(waited, 1s);
    EXPECT_EQ(client->outstanding_calls(), 0u);
    CO_ASSERT_TRUE(co_await first_arrived.Wait());

    // The answer comes after all; then a fresh call. TCP keeps the order, so when the
    // fresh call returns the late reply has been read (and must have been dropped).
    server->Reply(*unanswered, ResultEnvelope("too late"));
    auto r2 = co_await client->Call(TaskEnvelope("fresh"), 2s);
    CO_ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->task_result().output(), "fresh");
    EXPECT_EQ(LateReplies().value(), late_before + 1);
    EXPECT_TRUE(client->is_open());
    EXPECT_TRUE(client_messages.empty()) << "a reply reached the message handler";
    client->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, PeerCloseFailsPendingCallsWithUnavailable) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    CloseRecord client_closed(ex);
    int requests = 0;
    auto client = co_await Dial(plain_);
    Start(client, nullptr, client_closed.Handler());
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr& c, Envelope&&) {
      if (++requests == 2) c->Close(Status::Cancelled("server going away"));
    });
    CO_ASSERT_TRUE(client && server);
    Result<Envelope> first = Status::Internal("not finished");
    Event first_done(ex);
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          first = co_await client->Call(TaskEnvelope("a"), 5s);
          first_done.Set();
        },
        asio::detached);
    auto start = std::chrono::steady_clock::now();
    auto second = co_await client->Call(TaskEnvelope("b"), 5s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "waited for the timeout instead of the close";
    CO_ASSERT_TRUE(co_await first_done.Wait());
    for (auto* r : {&first, &second}) {
      EXPECT_FALSE(r->ok());
      EXPECT_EQ(r->status().kind(), ErrorKind::kUnavailable) << r->status().ToString();
    }
    CO_ASSERT_TRUE(co_await client_closed.event.Wait());
    EXPECT_EQ(client_closed.calls, 1);
    EXPECT_EQ(client_closed.why.kind(), ErrorKind::kUnavailable);
    EXPECT_FALSE(client->is_open());
    EXPECT_EQ(client->outstanding_calls(), 0u);

    // Calls and sends on a closed connection fail at once, without blocking or crashing.
    auto after = co_await client->Call(TaskEnvelope("c"), 5s);
    EXPECT_EQ(after.status().kind(), ErrorKind::kUnavailable);
    client->Send(TaskEnvelope("dropped"));
    client->Close(Status::Cancelled("again"));
    EXPECT_EQ(client_closed.calls, 1);
  });
}

TEST_F(ConnectionTest, LocalCloseFailsPendingCallsAndRunsTheCloseHandlerOnce) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    CloseRecord closed(ex), server_closed(ex);
    Event arrived(ex);
    auto client = co_await Dial(plain_);
    Start(client, nullptr, closed.Handler());
    auto server = co_await Accept(plain_);
    Start(
        server, [&](const Connection::Ptr&, Envelope&&) { arrived.Set(); }, server_closed.Handler());
    CO_ASSERT_TRUE(client && server);
    Result<Envelope> r = Status::Internal("not finished");
    Event done(ex);
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          r = co_await client->Call(TaskEnvelope("a"), 5s);
          done.Set();
        },
        asio::detached);
    CO_ASSERT_TRUE(co_await arrived.Wait());
    client->Close(Status::Cancelled("shutting down"));
    client->Close(Status::Internal("second close is a no-op"));
    CO_ASSERT_TRUE(co_await done.Wait(1s));
    EXPECT_EQ(r.status().kind(), ErrorKind::kUnavailable);
    EXPECT_NE(r.status().message().find("shutting down"), std::string::npos) << r.status().message();
    EXPECT_EQ(closed.calls, 1);
    EXPECT_EQ(closed.why.kind(), ErrorKind::kCancelled);
    // The peer notices too.
    CO_ASSERT_TRUE(co_await server_closed.event.Wait());
    EXPECT_EQ(server_closed.why.kind(), ErrorKind::kUnavailable);
  });
}

TEST_F(ConnectionTest, OneWayMessagesArriveInOrderWithoutId) {
  constexpr int kMessages = 200;
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<uint64_t> seen;
    Event all(ex);
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, [&](const Connection::Ptr&, Envelope&& e) {
      EXPECT_EQ(e.id(), 0u);
      EXPECT_FALSE(e.is_reply());
      EXPECT_EQ(e.body_case(), Envelope::kLoadReport);
      seen.push_back(e.load_report().completed());
      if (seen.size() == kMessages) all.Set();
    });
    CO_ASSERT_TRUE(client && server);
    for (int i = 0; i < kMessages; ++i) {
      Envelope e;
      e.mutable_load_report()->set_completed(i);
      client->Send(std::move(e));
      if (i % 50 == 0) co_await Pause(0ms);  // let some writes start mid-stream
    }
    CO_ASSERT_TRUE(co_await all.Wait());
    for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen[i], static_cast<uint64_t>(i));
    client->Close(Status::Cancelled("test over"));
  });
}

// The reader buffers many frames per read and grows for big ones: mix multi-megabyte
// frames (larger than its 64 KiB buffer) with bursts of small ones, both ways.
TEST_F(ConnectionTest, LargeAndSmallFramesInterleavedArriveWhole) {
  Run([&]() -> asio::awaitable<void> {
    auto client = co_await Dial(plain_);
    Start(client);
    auto server = co_await Accept(plain_);
    Start(server, Echo);
    CO_ASSERT_TRUE(client && server);
    for (size_t size : {size_t{3}, size_t{70000}, size_t{1}, size_t{3u << 20}, size_t{65531}, size_t{0}, size_t{200000}}) {
      std::string input(size, '\0');
      for (size_t i = 0; i < size; ++i) input[i] = static_cast<char>('a' + (i * 7 + size) % 26);
      auto r = co_await client->Call(TaskEnvelope(input), 5000ms);
      CO_ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->task_result().output(), input) << "size " << size;
    }
    client->Close(Status::Cancelled("test over"));
    server->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, GarbageFrameClosesOnlyThatConnection) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    uint64_t bad_before = BadFrames().value();
    // A healthy connection opened before the bad one.
    auto good = co_await Dial(plain_);
    Start(good);
    auto good_server = co_await Accept(plain_);
    Start(good_server, Echo);
    CO_ASSERT_TRUE(good && good_server);

    tcp::socket raw(ex);
    auto [cec] = co_await raw.async_connect(acceptor_.local_endpoint(), kTuple);
    CO_ASSERT_TRUE(!cec);
    CloseRecord bad_closed(ex);
    int messages = 0;
    auto bad_server = co_await Accept(plain_);
    Start(
        bad_server, [&](const Connection::Ptr&, Envelope&&) { ++messages; }, bad_closed.Handler());
    CO_ASSERT_TRUE(bad_server);
    const std::string garbage("\x00\x00\x00\x05\xff\xff\xff\xff\xff", 9);
    auto [wec, wn] = co_await asio::async_write(raw, asio::buffer(garbage), kTuple);
    CO_ASSERT_TRUE(!wec);
    CO_ASSERT_TRUE(co_await bad_closed.event.Wait());
    EXPECT_EQ(bad_closed.why.kind(), ErrorKind::kProtocol) << bad_closed.why.ToString();
    EXPECT_EQ(messages, 0);
    EXPECT_EQ(BadFrames().value(), bad_before + 1);
    char byte;
    auto [rec, rn] = co_await raw.async_read_some(asio::buffer(&byte, 1), kTuple);
    EXPECT_TRUE(rec == asio::error::eof || rec == asio::error::connection_reset) << rec.message();

    // The old connection and a new one on the same acceptor still work.
    auto r = co_await good->Call(TaskEnvelope("still here"), 2s);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->task_result().output(), "still here");
    auto fresh = co_await Dial(plain_);
    Start(fresh);
    auto fresh_server = co_await Accept(plain_);
    Start(fresh_server, Echo);
    CO_ASSERT_TRUE(fresh && fresh_server);
    auto r2 = co_await fresh->Call(TaskEnvelope("new"), 2s);
    CO_ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->task_result().output(), "new");
    good->Close(Status::Cancelled("test over"));
    fresh->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, ValidProtobufWithoutBodyClosesTheConnection) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket raw(ex);
    auto [cec] = co_await raw.async_connect(acceptor_.local_endpoint(), kTuple);
    CO_ASSERT_TRUE(!cec);
    CloseRecord closed(ex);
    auto server = co_await Accept(plain_);
    Start(
        server, [](const Connection::Ptr&, Envelope&&) {}, closed.Handler());
    Envelope no_body;
    no_body.set_id(3);
    std::string frame;
    no_body.set_is_reply(false);
    std::string body = no_body.SerializeAsString();
    frame.push_back(0);
    frame.push_back(0);
    frame.push_back(0);
    frame.push_back(static_cast<char>(body.size()));
    frame += body;
    auto [wec, wn] = co_await asio::async_write(raw, asio::buffer(frame), kTuple);
    CO_ASSERT_TRUE(!wec);
    CO_ASSERT_TRUE(co_await closed.event.Wait());
    EXPECT_EQ(closed.why.kind(), ErrorKind::kProtocol);
  });
}

TEST_F(ConnectionTest, GigabyteHeaderClosesTheConnectionWithoutWaitingForTheBody) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket raw(ex);
    auto [cec] = co_await raw.async_connect(acceptor_.local_endpoint(), kTuple);
    CO_ASSERT_TRUE(!cec);
    CloseRecord closed(ex);
    auto server = co_await Accept(plain_);
    Start(
        server, [](const Connection::Ptr&, Envelope&&) {}, closed.Handler());
    CO_ASSERT_TRUE(server);
    const std::string header("\x40\x00\x00\x00", 4);  // 1 GiB announced, nothing follows
    auto [wec, wn] = co_await asio::async_write(raw, asio::buffer(header), kTuple);
    CO_ASSERT_TRUE(!wec);
    CO_ASSERT_TRUE(co_await closed.event.Wait(1s));
    EXPECT_EQ(closed.why.kind(), ErrorKind::kProtocol);
    EXPECT_NE(closed.why.message().find("max_frame_bytes"), std::string::npos) << closed.why.message();
    char byte;
    auto [rec, rn] = co_await raw.async_read_some(asio::buffer(&byte, 1), kTuple);
    EXPECT_TRUE(rec == asio::error::eof || rec == asio::error::connection_reset) << rec.message();

    auto fresh = co_await Dial(plain_);
    Start(fresh);
    auto fresh_server = co_await Accept(plain_);
    Start(fresh_server, Echo);
    CO_ASSERT_TRUE(fresh && fresh_server);
    auto r = co_await fresh->Call(TaskEnvelope("ok"), 2s);
    CO_ASSERT_TRUE(r.ok());
    fresh->Close(Status::Cancelled("test over"));
  });
}

TEST_F(ConnectionTest, FrameAboveTheReceiversLimitClosesItAndFailsTheCall) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    CloseRecord server_closed(ex);
    int messages = 0;
    auto client = co_await Dial(plain_);
    Start(client);
    ConnectionOptions small;
    small.max_frame_bytes = 1024;
    auto server = co_await Accept(small);
    Start(
        server,
        [&](const Connection::Ptr& c, Envelope&& e) {
          ++messages;
          Echo(c, std::move(e));
        },
        server_closed.Handler());
    CO_ASSERT_TRUE(client && server);
    auto fits = co_await client->Call(TaskEnvelope(std::string(900, 'a')), 2s);
    EXPECT_TRUE(fits.ok()) << fits.status().ToString();
    auto big = co_await client->Call(TaskEnvelope(std::string(2000, 'b')), 2s);
    EXPECT_EQ(big.status().kind(), ErrorKind::kUnavailable) << big.status().ToString();
    CO_ASSERT_TRUE(co_await server_closed.event.Wait());
    EXPECT_EQ(server_closed.why.kind(), ErrorKind::kProtocol);
    EXPECT_EQ(messages, 1);
  });
}

TEST_F(ConnectionTest, IdleTimeoutClosesASilentConnection) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    CloseRecord server_closed(ex), client_closed(ex);
    auto client = co_await Dial(plain_);
    Start(client, nullptr, client_closed.Handler());
    ConnectionOptions idle;
    idle.idle_timeout = 150ms;
    auto start = std::chrono::steady_clock::now();
    auto server = co_await Accept(idle);
    Start(
        server, [](const Connection::Ptr&, Envelope&&) {}, server_closed.Handler());
    CO_ASSERT_TRUE(client && server);
    CO_ASSERT_TRUE(co_await server_closed.event.Wait(2s));
    auto after = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(server_closed.why.kind(), ErrorKind::kTimeout) << server_closed.why.ToString();
    EXPECT_GE(after, 150ms);
    EXPECT_LT(after, 1500ms);
    CO_ASSERT_TRUE(co_await client_closed.event.Wait());
    EXPECT_EQ(client_closed.why.kind(), ErrorKind::kUnavailable);
  });
}

TEST_F(ConnectionTest, TrafficKeepsAnIdleWatchedConnectionOpen) {
  Run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    CloseRecord server_closed(ex);
    int received = 0;
    auto client = co_await Dial(plain_);
    Start(client);
    ConnectionOptions idle;
    idle.idle_timeout = 300ms;
    auto server = co_await Accept(idle);
    Start(
        server, [&](const Connection::Ptr&, Envelope&&) { ++received; }, server_closed.Handler());
    CO_ASSERT_TRUE(client && server);
    // One message every 50 ms for 500 ms: longer than the idle timeout in total.
    for (int i = 0; i < 10; ++i) {
      Envelope e;
      e.mutable_load_report()->set_queue_length(i);
      client->Send(std::move(e));
      co_await Pause(50ms);
    }
    EXPECT_TRUE(server->is_open()) << server_closed.why.ToString();
    EXPECT_EQ(received, 10);
    // Then silence: it closes.
    CO_ASSERT_TRUE(co_await server_closed.event.Wait(2s));
    EXPECT_EQ(server_closed.why.kind(), ErrorKind::kTimeout);
  });
}

TEST_F(ConnectionTest, ConnectFailuresAreReported) {
  Run([&]() -> asio::awaitable<void> {
    // A port nobody listens on: bind one, note it, close it.
    uint16_t dead_port;
    {
      tcp::acceptor tmp(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      dead_port = tmp.local_endpoint().port();
    }
    Endpoint dead;
    dead.set_host("127.0.0.1");
    dead.set_port(dead_port);
    auto r = co_await Connect(dead, plain_, 1s);
    CO_ASSERT_TRUE(!r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kUnavailable) << r.status().ToString();

    Endpoint bad;
    bad.set_host("not an address");
    bad.set_port(1);
    auto b = co_await Connect(bad, plain_, 1s);
    CO_ASSERT_TRUE(!b.ok());
    EXPECT_EQ(b.status().kind(), ErrorKind::kInvalidArgument);

    auto ok = co_await Connect(ServerEndpoint(), plain_, 1s);
    CO_ASSERT_TRUE(ok.ok());
    EXPECT_EQ((*ok)->name(), "127.0.0.1:" + std::to_string(ServerEndpoint().port()));
    EXPECT_EQ((*ok)->remote_endpoint().port(), ServerEndpoint().port());
  });
}

TEST(ErrorEnvelopeTest, StatusRoundTripsThroughTheWire) {
  for (auto s : {Status::NotFound("no class x"), Status::Timeout("t"), Status::Cancelled("bye"), Status::WorkerError("bad input")}) {
    Envelope e = MakeError(s);
    ASSERT_EQ(e.body_case(), Envelope::kError);
    Status back = ErrorToStatus(e.error());
    EXPECT_EQ(back.kind(), s.kind());
    EXPECT_EQ(back.message(), s.message());
  }
  Error unknown;
  unknown.set_kind(99);
  unknown.set_message("from the future");
  EXPECT_EQ(ErrorToStatus(unknown).kind(), ErrorKind::kProtocol);
  Error ok;
  ok.set_kind(0);
  EXPECT_EQ(ErrorToStatus(ok).kind(), ErrorKind::kProtocol);  // an "error" that is ok is nonsense
}

}  // namespace
}  // namespace tacc::wire
