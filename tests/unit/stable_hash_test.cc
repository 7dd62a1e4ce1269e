// frontdoor/stable_hash.h: SipHash-2-4 against the reference vectors, and values pinned so
// that a change to the hash (which would reshuffle every dispatcher's choices, and break
// a mixed-version pair's stateless failover) cannot go unnoticed.
#include "frontdoor/stable_hash.h"

#include <gtest/gtest.h>

#include <string>

#include "frontdoor/client_key.h"

namespace tacc::frontdoor {
namespace {

TEST(FrontdoorStableHashTest, SipHash24ReferenceVectors) {
  // Aumasson & Bernstein's test key 00 01 .. 0f and messages 00 01 .. (n-1).
  const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
  std::string msg;
  for (char c = 0; c < 16; ++c) msg.push_back(c);
  EXPECT_EQ(SipHash24(k0, k1, msg.substr(0, 0)), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(k0, k1, msg.substr(0, 1)), 0x74f839c593dc67fdULL);
  EXPECT_EQ(SipHash24(k0, k1, msg.substr(0, 8)), 0x93f5f5799a932462ULL);
  EXPECT_EQ(SipHash24(k0, k1, msg.substr(0, 15)), 0xa129ca6149be45e5ULL);
}

TEST(FrontdoorStableHashTest, PinnedValues) {
  EXPECT_EQ(StableHash("10.0.0.1:8080"), 15647149860485659166ULL);
  EXPECT_NE(StableHash("10.0.0.1:8080", 1), StableHash("10.0.0.1:8080"));
}

TEST(FrontdoorStableHashTest, ClientKeysIgnoreTheFamilyOfAnIPv4Client) {
  auto v4 = ClientKeyOf(boost::asio::ip::make_address("192.0.2.9"));
  auto mapped = ClientKeyOf(boost::asio::ip::make_address("::ffff:192.0.2.9"));
  auto v6 = ClientKeyOf(boost::asio::ip::make_address("2001:db8::9"));
  EXPECT_EQ(v4, mapped);
  EXPECT_NE(v4, v6);
  EXPECT_NE(ClientKeyHash{1}(v4), ClientKeyHash{2}(v4)) << "the table hash is keyed";
}

TEST(FrontdoorStableHashTest, UnitIntervalIsOpen) {
  EXPECT_GT(UnitInterval(0), 0.0);
  EXPECT_LT(UnitInterval(~uint64_t{0}), 1.0);
}

}  // namespace
}  // namespace tacc::frontdoor
