// Bytes from a hostile or broken peer close that one connection; nobody crashes.
#include <gtest/gtest.h>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = std::make_unique<ClusterHarness>(
        ClusterHarness::Options{.settings = {"classes.test.min_workers=1", "manager.spawn_policy=fixed", "wire.handshake_timeout_ms=300"}});
    c_->Start();
    auto b = c_->WaitFor([](const wire::Beacon& x) { return x.workers_size() == 1 && x.frontends_size() == 1; }, 10s);
    ASSERT_TRUE(b);
    beacon_ = *b;
  }
  // Everyone still there, same pids, and a request still works.
  void ExpectAllAlive() {
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(ProcessAlive(static_cast<pid_t>(beacon_.manager_pid())));
    EXPECT_TRUE(ProcessAlive(static_cast<pid_t>(beacon_.frontends(0).pid())));
    EXPECT_TRUE(ProcessAlive(static_cast<pid_t>(beacon_.workers(0).pid())));
    auto r = c_->Get("/task/test?cost_ms=1");
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_TRUE(r.Header("X-Tacc-Fallback").empty());
    auto now = c_->Latest();
    EXPECT_EQ(now->epoch(), beacon_.epoch());
    EXPECT_EQ(now->workers_size(), 1);
  }
  static std::string Frame(uint32_t n) {
    std::string h(4, '\0');
    h[0] = static_cast<char>(n >> 24);
    h[1] = static_cast<char>(n >> 16);
    h[2] = static_cast<char>(n >> 8);
    h[3] = static_cast<char>(n);
    return h;
  }
  std::unique_ptr<ClusterHarness> c_;
  wire::Beacon beacon_;
};

TEST_F(BadInputTest, GarbageAndOversizedFramesToManagerAndWorker) {
  int mport = static_cast<int>(beacon_.manager().port());
  int wport = static_cast<int>(beacon_.workers(0).address().port());
  // A peer without the cluster key gets no byte back and its connection is closed by
  // the other side (not merely left silent), whatever it sends.
  wire::Envelope env;
  env.set_id(1);
  env.mutable_drain();
  std::string drain = env.SerializeAsString();
  for (int port : {mport, wport}) {
    for (const std::string& bytes : std::vector<std::string>{"GET / HTTP/1.1\r\n\r\n garbage garbage garbage",  // not tacc
                                                             Frame(0x7fffffff),                                // 2 GiB announced
                                                             Frame(5) + "\xff\xff\xff\xff\xff",                // not a message
                                                             Frame(0),                                         // empty: no kind
                                                             Frame(static_cast<uint32_t>(drain.size())) + drain}) {
      auto r = RawExchangeUntilClosed("127.0.0.1", port, bytes);
      EXPECT_TRUE(r.closed_by_peer) << "port " << port << ": connection left open after " << bytes.size() << " bytes";
      EXPECT_EQ(r.reply, "") << "port " << port;
    }
  }
  EXPECT_NE(c_->Log().find("refused cluster connection"), std::string::npos);
  ExpectAllAlive();
}

TEST_F(BadInputTest, MalformedAndOversizedHttpToFrontEnd) {
  int port = c_->FrontendPort();
  auto garbage = RawExchange("127.0.0.1", port, "\x01\x02 nonsense\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  std::string big_header = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  auto h = RawExchange("127.0.0.1", port, big_header);
  EXPECT_NE(h.find("431"), std::string::npos) << h.substr(0, 200);
  std::string big_body = "POST /task/test HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n";
  auto b = RawExchange("127.0.0.1", port, big_body);
  EXPECT_NE(b.find("413"), std::string::npos) << b.substr(0, 200);
  auto chunked = RawExchange("127.0.0.1", port,
                             "POST /task/test?echo=1&cost_ms=0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_NE(chunked.find("200 OK"), std::string::npos) << chunked;
  EXPECT_NE(chunked.find("hello world"), std::string::npos) << chunked;
  ExpectAllAlive();
}

}  // namespace
}  // namespace tacc::testing
