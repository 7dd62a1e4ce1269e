#include "sns/beacon_listener.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "async_test_util.h"
#include "sns/beacon_sender.h"
#include "wire/datagram_seal.h"

namespace tacc::sns {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Verdict = BeaconReceiver::Verdict;

ClusterKey Key(uint8_t fill) {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(fill);
  return ClusterKey::FromBytes(b);
}

constexpr int64_t kNow = 1'800'000'000'000;  // fake wall clock (ms)

wire::Beacon Directory(int workers, uint64_t epoch, uint64_t seq) {
  wire::Beacon b;
  b.set_cluster("c1");
  b.set_epoch(epoch);
  b.set_seq(seq);
  b.mutable_manager()->set_host("127.0.0.1");
  b.mutable_manager()->set_port(7400);
  for (int i = 0; i < workers; ++i) {
    auto* w = b.add_workers();
    w->set_worker_class("test");
    w->mutable_address()->set_host("127.0.0.1");
    w->mutable_address()->set_port(static_cast<uint32_t>(10000 + i));
    w->set_id("test@127.0.0.1:" + std::to_string(10000 + i));
    w->set_host("127.0.0.1");
    w->set_load(i % 7);
  }
  return b;
}

// The sealed datagrams of a beacon (header first), as a manager sends them.
std::vector<std::string> Datagrams(const wire::Beacon& b, const ClusterKey& key, int64_t sent = kNow) {
  auto split = wire::Split(b, 1300);
  EXPECT_TRUE(split.ok());
  std::vector<std::string> out{wire::Seal(key, "c1", wire::DATAGRAM_BEACON_HEADER, split->header.SerializeAsString(), sent)};
  for (auto& p : split->parts) out.push_back(wire::Seal(key, "c1", wire::DATAGRAM_BEACON_PART, p.SerializeAsString(), sent));
  return out;
}

class BeaconReceiverTest : public ::testing::Test {
 protected:
  BeaconReceiver full{Key(1), {"c1", 5000, false}};
  BeaconReceiver headers{Key(1), {"c1", 5000, true}};

  // Feeds every datagram; returns the beacons delivered.
  std::vector<wire::Beacon> Feed(BeaconReceiver& r, const std::vector<std::string>& dgs, int64_t now = kNow) {
    std::vector<wire::Beacon> out;
    for (auto& d : dgs) {
      wire::Beacon b;
      if (r.OnDatagram(d, now, &b) == Verdict::kBeacon) out.push_back(std::move(b));
    }
    return out;
  }
};

TEST_F(BeaconReceiverTest, WholeBeaconIsDeliveredOnceFromItsParts) {
  auto got = Feed(full, Datagrams(Directory(3000, 1, 1), Key(1)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].workers_size(), 3000);
}

TEST_F(BeaconReceiverTest, ForgedBeaconsAreRefusedAndDeliverNothing) {
  wire::Beacon b;
  EXPECT_EQ(full.OnDatagram(Datagrams(Directory(0, 1, 1), Key(2))[0], kNow, &b), Verdict::kUnauthenticated);  // wrong key
  wire::SealedDatagram bare;                                                                                  // no key at all
  bare.set_cluster("c1");
  bare.set_kind(wire::DATAGRAM_BEACON_HEADER);
  bare.set_sent_unix_ms(kNow);
  bare.set_body(Directory(0, 1, 1).SerializeAsString());
  EXPECT_EQ(full.OnDatagram(bare.SerializeAsString(), kNow, &b), Verdict::kUnauthenticated);
  EXPECT_EQ(full.OnDatagram("not a datagram at all", kNow, &b), Verdict::kMalformed);
  // The real beacon of the same epoch and seq still goes through: the forgeries left no trace.
  EXPECT_EQ(Feed(full, Datagrams(Directory(10, 1, 1), Key(1))).size(), 1u);
}

TEST_F(BeaconReceiverTest, ReplayedDatagramsAreRefused) {
  auto dgs = Datagrams(Directory(2000, 1, 5), Key(1));
  ASSERT_EQ(Feed(full, dgs).size(), 1u);
  wire::Beacon b;
  EXPECT_EQ(full.OnDatagram(dgs[0], kNow + 100, &b), Verdict::kReplayed) << "header again";
  EXPECT_EQ(full.OnDatagram(dgs[1], kNow + 100, &b), Verdict::kReplayed) << "a part again";
  // An older beacon of the same epoch, captured earlier and sent now, is refused too.
  auto older = Datagrams(Directory(10, 1, 4), Key(1), kNow - 500);
  EXPECT_EQ(full.OnDatagram(older[0], kNow, &b), Verdict::kReplayed);
  EXPECT_TRUE(Feed(full, older).empty());
  // Later than the freshness window, even a never-seen one is stale.
  auto unseen = Datagrams(Directory(10, 1, 6), Key(1), kNow);
  EXPECT_EQ(full.OnDatagram(unseen[0], kNow + 5001, &b), Verdict::kStale);
}

TEST_F(BeaconReceiverTest, SequenceNumbersArePerEpoch) {
  ASSERT_EQ(Feed(full, Datagrams(Directory(1, 100, 900), Key(1))).size(), 1u);
  EXPECT_EQ(Feed(full, Datagrams(Directory(1, 101, 1), Key(1))).size(), 1u) << "a new manager starts at seq 1";
  EXPECT_EQ(Feed(full, Datagrams(Directory(1, 100, 901), Key(1))).size(), 1u) << "the old one's newer beacons still count";
}

TEST_F(BeaconReceiverTest, HeaderOnlyReceiverTakesHeadersAndSkipsParts) {
  auto dgs = Datagrams(Directory(500, 1, 1), Key(1));
  wire::Beacon b;
  ASSERT_EQ(headers.OnDatagram(dgs[0], kNow, &b), Verdict::kBeacon);
  EXPECT_EQ(b.workers_size(), 0);
  EXPECT_EQ(b.manager().port(), 7400u);
  EXPECT_EQ(headers.OnDatagram(dgs[1], kNow, &b), Verdict::kUnwanted);
  EXPECT_EQ(headers.OnDatagram(dgs[0], kNow, &b), Verdict::kReplayed);
}

TEST_F(BeaconReceiverTest, OtherClustersAreDroppedNotCountedAsAttacks) {
  auto split = wire::Split(Directory(0, 1, 1), 1300);
  wire::Beacon b;
  EXPECT_EQ(full.OnDatagram(wire::Seal(Key(2), "c2", wire::DATAGRAM_BEACON_HEADER, split->header.SerializeAsString(), kNow), kNow, &b),
            Verdict::kOtherCluster);
}

TEST_F(BeaconReceiverTest, LostPartMeansNoBeaconUntilTheNextWholeOne) {
  auto first = Datagrams(Directory(2000, 1, 1), Key(1));
  first.erase(first.begin() + 3);
  EXPECT_TRUE(Feed(full, first).empty());
  auto second = Datagrams(Directory(2000, 1, 2), Key(1));
  auto got = Feed(full, second);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq(), 2u);
  EXPECT_EQ(full.assembly().abandoned, 1u);
}

// ---------------------------------------------------------------- over loopback

Config UnicastConfig() {
  Config c;
  c.cluster.name = "c1";
  c.cluster.host = "127.0.0.1";
  c.beacon.mode = "unicast";
  c.beacon.interval_ms = 100;
  c.beacon.subscription_ttl_ms = 3000;
  return c;
}

TEST(BeaconLoopbackTest, TenThousandWorkersReachAListenerAndAWorkerGetsHeaders) {
  asio::io_context ctx{1};
  Config config = UnicastConfig();
  uint64_t epoch = 77;
  BeaconSender sender(ctx, config, Key(1), [&](wire::BeaconPacker& entries) {
    auto b = Directory(10000, epoch, 0);
    wire::AddEntries(b, &entries);
    return b;
  });
  ASSERT_TRUE(sender.Open(0).ok());
  config.beacon.unicast_seeds = {"127.0.0.1:" + std::to_string(sender.local_port())};

  std::vector<wire::Beacon> full, headers;
  auto front = BeaconListener::Open(ctx, config, Key(1), [&](const wire::Beacon& b) { full.push_back(b); });
  BeaconListener::Options ho;
  ho.header_only = true;
  auto worker = BeaconListener::Open(
      ctx, config, Key(1), [&](const wire::Beacon& b) { headers.push_back(b); }, ho);
  ASSERT_TRUE(front.ok() && worker.ok());
  sender.Start();
  (*front)->Start();
  (*worker)->Start();
  testing::RunCoroutine(
      ctx,
      [&]() -> asio::awaitable<void> {
        while (full.size() < 2 || headers.size() < 2) co_await testing::Pause(10ms);
      },
      10s);
  sender.Stop();
  ASSERT_GE(full.size(), 2u);
  for (auto& b : full) {
    EXPECT_EQ(b.workers_size(), 10000);
    EXPECT_EQ(b.epoch(), epoch);
  }
  EXPECT_LT(full[0].seq(), full[1].seq());
  EXPECT_GT(full[0].parts(), 50u);
  EXPECT_EQ(headers[0].workers_size(), 0);
  EXPECT_EQ(sender.subscribers(), 2u);
}

}  // namespace
}  // namespace tacc::sns
