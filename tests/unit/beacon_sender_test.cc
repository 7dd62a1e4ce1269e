#include "sns/beacon_sender.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "async_test_util.h"
#include "sns/beacon_listener.h"
#include "wire/datagram_seal.h"

namespace tacc::sns {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Verdict = SubscriberTable::Verdict;
using Clock = SubscriberTable::Clock;

ClusterKey Key(uint8_t fill) {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(fill);
  return ClusterKey::FromBytes(b);
}

constexpr int64_t kNow = 1'800'000'000'000;  // fake wall clock (ms)

wire::udp::endpoint Ep(const char* host, uint16_t port) { return {asio::ip::make_address(host), port}; }

std::string Subscription(const ClusterKey& key, const wire::udp::endpoint& reply_to, int64_t sent, bool header_only = false) {
  wire::Subscribe s;
  s.set_cluster("c1");
  s.mutable_reply_to()->set_host(reply_to.address().to_string());
  s.mutable_reply_to()->set_port(reply_to.port());
  s.set_header_only(header_only);
  return wire::Seal(key, "c1", wire::DATAGRAM_SUBSCRIBE, s.SerializeAsString(), sent);
}

class SubscriberTableTest : public ::testing::Test {
 protected:
  SubscriberTable table{Key(1), {"c1", 5000, 3s, 2}};
  Clock::time_point t0 = Clock::time_point{} + 1h;  // fake steady clock
  wire::udp::endpoint a = Ep("127.0.0.1", 4001), b = Ep("127.0.0.1", 4002), c = Ep("127.0.0.2", 4003);
};

TEST_F(SubscriberTableTest, AuthenticSubscriptionFromItsOwnAddressIsTaken) {
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), a, kNow, true), a, kNow, t0), Verdict::kAdded);
  auto live = table.Live(t0);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].endpoint, a);
  EXPECT_TRUE(live[0].header_only);
}

TEST_F(SubscriberTableTest, UnauthenticatedSubscriptionsAreRefused) {
  EXPECT_EQ(table.OnDatagram(Subscription(Key(2), a, kNow), a, kNow, t0), Verdict::kUnauthenticated);
  wire::SealedDatagram bare;
  bare.set_cluster("c1");
  bare.set_kind(wire::DATAGRAM_SUBSCRIBE);
  bare.set_sent_unix_ms(kNow);
  EXPECT_EQ(table.OnDatagram(bare.SerializeAsString(), a, kNow, t0), Verdict::kUnauthenticated);
  EXPECT_EQ(table.OnDatagram("garbage", a, kNow, t0), Verdict::kMalformed);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SubscriberTableTest, NoReflection_ReplyAddressMustBeTheSource) {
  // A subscription naming `c` but arriving from `a` (or a captured one of `c` replayed
  // with a forged source `a`): beacons would go to a third party. Refused.
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), c, kNow), a, kNow, t0), Verdict::kSourceMismatch);
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), Ep("127.0.0.1", 4009), kNow), a, kNow, t0), Verdict::kSourceMismatch);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(SubscriberTableTest, ReplayedOrStaleSubscriptionsAreRefused) {
  auto sub = Subscription(Key(1), a, kNow);
  ASSERT_EQ(table.OnDatagram(sub, a, kNow, t0), Verdict::kAdded);
  EXPECT_EQ(table.OnDatagram(sub, a, kNow + 1000, t0 + 1s), Verdict::kReplayed);
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), a, kNow + 1000), a, kNow + 1000, t0 + 1s), Verdict::kRenewed);
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), b, kNow), b, kNow + 5001, t0), Verdict::kStale);
}

TEST_F(SubscriberTableTest, ListIsBoundedAndExpiredSubscribersMakeRoom) {
  ASSERT_EQ(table.OnDatagram(Subscription(Key(1), a, kNow), a, kNow, t0), Verdict::kAdded);
  ASSERT_EQ(table.OnDatagram(Subscription(Key(1), b, kNow), b, kNow, t0 + 1s), Verdict::kAdded);
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), c, kNow), c, kNow, t0 + 2s), Verdict::kFull);
  // `a` expires 3 s after it subscribed; `b` renews meanwhile.
  ASSERT_EQ(table.OnDatagram(Subscription(Key(1), b, kNow + 2500), b, kNow + 2500, t0 + 2500ms), Verdict::kRenewed);
  EXPECT_EQ(table.OnDatagram(Subscription(Key(1), c, kNow + 3100), c, kNow + 3100, t0 + 3100ms), Verdict::kAdded);
  auto live = table.Live(t0 + 3100ms);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(table.Live(t0 + 10s).size(), 0u) << "unrenewed subscriptions end";
}

// ---------------------------------------------------------------- the sender itself

Config UnicastConfig(int interval_ms) {
  Config c;
  c.cluster.name = "c1";
  c.cluster.host = "127.0.0.1";
  c.beacon.mode = "unicast";
  c.beacon.interval_ms = interval_ms;
  return c;
}

TEST(BeaconSenderTest, ManyExtraRequestsCoalesceIntoOneExtraBeacon) {
  asio::io_context ctx{1};
  int built = 0;
  BeaconSender sender(ctx, UnicastConfig(3000), Key(1), [&](wire::BeaconPacker&) {
    ++built;
    wire::Beacon b;
    b.set_cluster("c1");
    b.set_epoch(1);
    return b;
  });
  ASSERT_TRUE(sender.Open(0).ok());
  sender.Start();
  testing::RunCoroutine(ctx, [&]() -> asio::awaitable<void> {
    while (built < 1) co_await testing::Pause(1ms);    // the first periodic beacon
    for (int i = 0; i < 1000; ++i) sender.SendSoon();  // a thousand registrations
    while (built < 2) co_await testing::Pause(5ms);    // one extra, a tenth of a period later
    co_await testing::Pause(200ms);
  });
  sender.Stop();
  EXPECT_EQ(built, 2) << "extras were not coalesced";
  EXPECT_EQ(sender.beacons_sent(), 2u);
}

TEST(BeaconSenderTest, UnauthenticatedSubscriberGetsNothingAuthenticatedOneGetsBeacons) {
  asio::io_context ctx{1};
  Config config = UnicastConfig(50);
  BeaconSender sender(ctx, config, Key(1), [&](wire::BeaconPacker&) {
    wire::Beacon b;
    b.set_cluster("c1");
    b.set_epoch(1);
    return b;
  });
  ASSERT_TRUE(sender.Open(0).ok());
  sender.Start();
  auto to = Ep("127.0.0.1", sender.local_port());
  wire::udp::socket probe(ctx, wire::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto me = probe.local_endpoint();
  uint64_t refused_before = BeaconStats().subscriptions_refused.value();
  size_t received = 0;
  testing::RunCoroutine(
      ctx,
      [&]() -> asio::awaitable<void> {
        // Forged (wrong key) and reflecting (authentic, but naming another address).
        probe.send_to(asio::buffer(Subscription(Key(2), me, wire::NowUnixMs())), to);
        probe.send_to(asio::buffer(Subscription(Key(1), Ep("127.0.0.1", 9), wire::NowUnixMs())), to);
        while (BeaconStats().subscriptions_refused.value() < refused_before + 2) co_await testing::Pause(5ms);
        // Several beacon periods pass: nothing may come back to either address.
        co_await testing::Pause(300ms);
        CO_ASSERT_TRUE(probe.available() == 0);
        CO_ASSERT_TRUE(sender.subscribers() == 0);
        // The same socket with the key is served (so silence above was the refusal).
        probe.send_to(asio::buffer(Subscription(Key(1), me, wire::NowUnixMs())), to);
        std::vector<char> buf(2048);
        wire::udp::endpoint from;
        auto [ec, n] = co_await probe.async_receive_from(asio::buffer(buf), from, asio::as_tuple(asio::use_awaitable));
        CO_ASSERT_TRUE(!ec);
        received = n;
      },
      5s);
  sender.Stop();
  EXPECT_GT(received, 0u);
  EXPECT_EQ(sender.subscribers(), 1u);
}

}  // namespace
}  // namespace tacc::sns
