// Bytes from a hostile or broken peer close that one connection; nobody crashes.
#include <gtest/gtest.h>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    c_ = std::make_unique<ClusterHarness>(ClusterHarness::Options{.settings = {"classes.test.min_workers=1", "manager.spawn_policy=fixed"}});
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
  for (int port : {mport, wport}) {
    EXPECT_EQ(RawExchange("127.0.0.1", port, "GET / HTTP/1.1\r\n\r\n garbage garbage garbage"), "");  // closed, no answer
    EXPECT_EQ(RawExchange("127.0.0.1", port, Frame(0x7fffffff)), "");                                 // 2 GiB announced
    EXPECT_EQ(RawExchange("127.0.0.1", port, Frame(5) + "\xff\xff\xff\xff\xff"), "");                 // not a message
    EXPECT_EQ(RawExchange("127.0.0.1", port, Frame(0)), "");                                          // empty: no kind
    // A well-formed frame of a message this peer does not take.
    wire::Envelope env;
    env.set_id(1);
    env.mutable_drain();
    std::string body = env.SerializeAsString();
    auto reply = RawExchange("127.0.0.1", port, Frame(static_cast<uint32_t>(body.size())) + body);
    (void)reply;  // may carry an error reply; then closed
  }
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
