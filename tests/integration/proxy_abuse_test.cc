// Request smuggling and framing abuse through TranSend's front end (issue 7): each
// ambiguous or malformed frame is refused with 400 and the connection closed, nothing of
// it reaches the origin, and what is forwarded is always framed by us.
#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {


class ProxyAbuseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    origin_ = new TestOrigin([](const TestOrigin::Request& r) { return OkAnswer("got " + std::to_string(r.body().size()), "text/plain", ""); });
    cluster_ = new ClusterHarness({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
    cluster_->Start();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete origin_;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(origin_->port()) + "/p"; }
  // Sends `head_and_body` (the request line is added) and returns what came back.
  RawOutcome Send(const std::string& rest) const {
    return RawExchangeUntilClosed("127.0.0.1", cluster_->FrontendPort(), "POST " + Url() + " HTTP/1.1\r\nHost: x\r\n" + rest, std::chrono::seconds(3));
  }
  static TestOrigin* origin_;
  static ClusterHarness* cluster_;
};
TestOrigin* ProxyAbuseTest::origin_ = nullptr;
ClusterHarness* ProxyAbuseTest::cluster_ = nullptr;

TEST_F(ProxyAbuseTest, AmbiguousFramingIsRefusedAndNeverForwarded) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"two different Content-Length", "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"Content-Length list that disagrees", "Content-Length: 5, 6\r\n\r\nhello!"},
      {"Content-Length and Transfer-Encoding", "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"Transfer-Encoding not ending in chunked", "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"},
      {"unknown coding", "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"},
      {"space before the colon", "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"},
      {"negative length", "Content-Length: -1\r\n\r\n"},
      {"bad chunk size", "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
      {"bare LF in a field value", "X-A: a\nb\r\nContent-Length: 0\r\n\r\n"},
  };
  size_t before = origin_->requests().size();
  for (const auto& [name, rest] : cases) {
    auto r = Send(rest);
    EXPECT_EQ(r.reply.rfind("HTTP/1.1 400", 0), 0u) << name << ":\n" << r.reply;
    EXPECT_TRUE(r.closed_by_peer) << name << ": the connection stayed open after a framing error";
  }
  EXPECT_EQ(origin_->requests().size(), before) << "an ambiguous request reached the origin";
}

TEST_F(ProxyAbuseTest, WhatIsForwardedIsFramedByUs) {
  auto r = Send("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(r.reply.rfind("HTTP/1.1 200", 0), 0u) << r.reply;
  EXPECT_NE(r.reply.find("got 11"), std::string::npos) << r.reply;
  auto reqs = origin_->requests();
  ASSERT_FALSE(reqs.empty());
  const auto& last = reqs.back();
  EXPECT_EQ(last.body(), "hello world");
  EXPECT_EQ(std::string(last[boost::beast::http::field::content_length]), "11");
  EXPECT_EQ(std::string(last[boost::beast::http::field::transfer_encoding]), "") << "the client's framing was forwarded";
}

}  // namespace
}  // namespace tacc::testing
