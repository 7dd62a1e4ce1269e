#include "http/destination_policy.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tacc::http {
namespace {

namespace ip = boost::asio::ip;
using C = AddressClass;

C Of(const std::string& text) { return Classify(ip::make_address(text)); }

TEST(DestinationPolicyTest, ClassifiesTheSpecialPurposeRanges) {
  EXPECT_EQ(Of("93.184.216.34"), C::kPublic);
  EXPECT_EQ(Of("8.8.8.8"), C::kPublic);
  EXPECT_EQ(Of("0.0.0.0"), C::kUnspecified);
  EXPECT_EQ(Of("0.1.2.3"), C::kUnspecified);
  EXPECT_EQ(Of("127.0.0.1"), C::kLoopback);
  EXPECT_EQ(Of("127.255.255.254"), C::kLoopback);
  EXPECT_EQ(Of("10.0.0.5"), C::kPrivate);
  EXPECT_EQ(Of("172.16.0.1"), C::kPrivate);
  EXPECT_EQ(Of("172.31.255.255"), C::kPrivate);
  EXPECT_EQ(Of("172.32.0.1"), C::kPublic);
  EXPECT_EQ(Of("192.168.1.1"), C::kPrivate);
  EXPECT_EQ(Of("100.64.0.1"), C::kShared);
  EXPECT_EQ(Of("169.254.169.254"), C::kLinkLocal);  // cloud metadata
  EXPECT_EQ(Of("224.0.0.1"), C::kMulticast);
  EXPECT_EQ(Of("239.255.80.1"), C::kMulticast);
  EXPECT_EQ(Of("255.255.255.255"), C::kBroadcast);
  EXPECT_EQ(Of("240.0.0.1"), C::kReserved);
  EXPECT_EQ(Of("192.0.2.10"), C::kReserved);
  EXPECT_EQ(Of("198.18.0.1"), C::kReserved);
  EXPECT_EQ(Of("::"), C::kUnspecified);
  EXPECT_EQ(Of("::1"), C::kLoopback);
  EXPECT_EQ(Of("fe80::1"), C::kLinkLocal);
  EXPECT_EQ(Of("fd00:ec2::254"), C::kPrivate);  // a cloud metadata address over IPv6
  EXPECT_EQ(Of("fc00::1"), C::kPrivate);
  EXPECT_EQ(Of("ff02::1"), C::kMulticast);
  EXPECT_EQ(Of("2001:db8::1"), C::kReserved);
  EXPECT_EQ(Of("2606:2800:220:1:248:1893:25c8:1946"), C::kPublic);
}

TEST(DestinationPolicyTest, IPv6FormsCarryingIPv4AreJudgedByTheIPv4Inside) {
  EXPECT_EQ(Of("::ffff:127.0.0.1"), C::kLoopback);
  EXPECT_EQ(Of("::ffff:169.254.169.254"), C::kLinkLocal);
  EXPECT_EQ(Of("::ffff:10.1.2.3"), C::kPrivate);
  EXPECT_EQ(Of("::ffff:93.184.216.34"), C::kPublic);
  EXPECT_EQ(Of("::127.0.0.1"), C::kLoopback);          // IPv4-compatible (deprecated)
  EXPECT_EQ(Of("64:ff9b::7f00:1"), C::kLoopback);      // NAT64 of 127.0.0.1
  EXPECT_EQ(Of("64:ff9b::a9fe:a9fe"), C::kLinkLocal);  // NAT64 of 169.254.169.254
  EXPECT_EQ(Of("2002:7f00:1::1"), C::kLoopback);       // 6to4 of 127.0.0.1
  EXPECT_EQ(Of("2002:5db8:d822::1"), C::kPublic);      // 6to4 of 93.184.216.34
}

// The spellings an attacker uses for a loopback or metadata address all resolve to an
// address that is then classified: what counts is the resolved address.
TEST(DestinationPolicyTest, EverySpellingOfLoopbackResolvesToALoopbackAddress) {
  boost::asio::io_context io;
  ip::tcp::resolver resolver(io);
  for (const char* host : {"127.0.0.1", "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "127.1", "0", "localhost"}) {
    boost::system::error_code ec;
    auto results = resolver.resolve(host, "80", ec);
    ASSERT_FALSE(ec) << host << ": " << ec.message();
    for (const auto& r : results) {
      C c = Classify(r.endpoint().address());
      EXPECT_TRUE(c == C::kLoopback || c == C::kUnspecified) << host << " resolved to " << r.endpoint().address().to_string();
    }
  }
}

TEST(DestinationPolicyTest, ChecksAllowOnlyPublicOrAllowedNetworks) {
  auto p = DestinationPolicy::Make({});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Check(ip::make_address("93.184.216.34")).ok());
  Status s = p->Check(ip::make_address("169.254.169.254"));
  EXPECT_EQ(s.kind(), ErrorKind::kForbidden);
  EXPECT_NE(s.message().find("link-local address 169.254.169.254"), std::string::npos) << s.message();
  EXPECT_FALSE(p->Check(ip::make_address("::ffff:127.0.0.1")).ok());

  auto q = DestinationPolicy::Make({"10.1.0.0/16", "127.0.0.1/32", "fd00::/8"});
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Check(ip::make_address("10.1.200.3")).ok());
  EXPECT_FALSE(q->Check(ip::make_address("10.2.0.1")).ok());
  EXPECT_TRUE(q->Check(ip::make_address("127.0.0.1")).ok());
  EXPECT_TRUE(q->Check(ip::make_address("::ffff:127.0.0.1")).ok());  // the same address, mapped
  EXPECT_FALSE(q->Check(ip::make_address("127.0.0.2")).ok());
  EXPECT_TRUE(q->Check(ip::make_address("fd00:ec2::254")).ok());
  EXPECT_FALSE(q->Check(ip::make_address("fe80::1")).ok());
  // Host bits set in an allowed network are tolerated (10.1.2.3/16 means 10.1.0.0/16).
  auto r = DestinationPolicy::Make({"10.1.2.3/16"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Check(ip::make_address("10.1.99.99")).ok());

  auto bad = DestinationPolicy::Make({"10.0.0.0/33"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("10.0.0.0/33"), std::string::npos);
  EXPECT_FALSE(DestinationPolicy::Make({"localhost"}).ok());
}

}  // namespace
}  // namespace tacc::http
