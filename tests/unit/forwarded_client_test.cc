#include "http/forwarded_client.h"

#include <gtest/gtest.h>

namespace tacc::http {
namespace {

namespace bhttp = boost::beast::http;
using boost::asio::ip::make_address;

NetworkList Trusted(std::vector<std::string> cidrs) {
  auto l = NetworkList::Make(cidrs);
  EXPECT_TRUE(l.ok());
  return *l;
}

std::string ClientOf(std::vector<std::string> xff_lines, const std::string& peer, const NetworkList& trusted) {
  bhttp::fields f;
  for (auto& v : xff_lines) f.insert("X-Forwarded-For", v);
  return ForwardedClient(f, make_address(peer), trusted).to_string();
}

TEST(ForwardedClientTest, AnUntrustedPeerIsTheClientWhateverItSays) {
  auto trusted = Trusted({"10.0.0.1/32"});
  EXPECT_EQ(ClientOf({"1.2.3.4"}, "10.0.0.2", trusted), "10.0.0.2");
  EXPECT_EQ(ClientOf({"1.2.3.4"}, "10.0.0.2", Trusted({})), "10.0.0.2");
}

TEST(ForwardedClientTest, ATrustedPeerNamesTheClient) {
  auto trusted = Trusted({"10.0.0.1/32"});
  EXPECT_EQ(ClientOf({"192.0.2.7"}, "10.0.0.1", trusted), "192.0.2.7");
  EXPECT_EQ(ClientOf({}, "10.0.0.1", trusted), "10.0.0.1");  // no header: the proxy itself
}

TEST(ForwardedClientTest, TheRightmostUntrustedHopIsTheClient) {
  auto trusted = Trusted({"10.0.0.0/24"});
  // The client forged the first entry; the dispatcher appended the address it heard from.
  EXPECT_EQ(ClientOf({"203.0.113.9, 192.0.2.7"}, "10.0.0.1", trusted), "192.0.2.7");
  // Two trusted proxies in a row, then the client.
  EXPECT_EQ(ClientOf({"192.0.2.7, 10.0.0.5"}, "10.0.0.1", trusted), "192.0.2.7");
  // Several header lines are one list, in order.
  EXPECT_EQ(ClientOf({"203.0.113.9", "192.0.2.7 , 10.0.0.5"}, "10.0.0.1", trusted), "192.0.2.7");
}

TEST(ForwardedClientTest, GarbageStopsTheWalkAtTheLastGoodHop) {
  auto trusted = Trusted({"10.0.0.0/24"});
  EXPECT_EQ(ClientOf({"unknown"}, "10.0.0.1", trusted), "10.0.0.1");
  EXPECT_EQ(ClientOf({"192.0.2.7:5555, 10.0.0.5"}, "10.0.0.1", trusted), "10.0.0.5");
  EXPECT_EQ(ClientOf({""}, "10.0.0.1", trusted), "10.0.0.1");
  EXPECT_EQ(ClientOf({"2001:db8::1"}, "10.0.0.1", trusted), "2001:db8::1");
  EXPECT_EQ(ClientOf({"::ffff:192.0.2.7"}, "10.0.0.1", trusted), "192.0.2.7");
}

}  // namespace
}  // namespace tacc::http
