#include "wire/datagram_seal.h"

#include <gtest/gtest.h>

namespace tacc::wire {
namespace {

ClusterKey Key(uint8_t fill) {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(fill);
  return ClusterKey::FromBytes(b);
}

constexpr int64_t kNow = 1'800'000'000'000;  // a fixed wall-clock time (ms)
constexpr int64_t kWindow = 5000;
constexpr uint32_t kHeaders = KindBit(DATAGRAM_BEACON_HEADER);

TEST(DatagramSealTest, SealedDatagramUnsealsWithTheSameKey) {
  auto bytes = Seal(Key(1), "c1", DATAGRAM_BEACON_HEADER, "body bytes", kNow);
  Unsealed u;
  ASSERT_EQ(Unseal(Key(1), "c1", bytes, kNow + 10, kWindow, kHeaders, &u), UnsealOutcome::kOk);
  EXPECT_EQ(u.kind, DATAGRAM_BEACON_HEADER);
  EXPECT_EQ(u.body, "body bytes");
  EXPECT_EQ(u.sent_unix_ms, kNow);
}

TEST(DatagramSealTest, AnotherKeyOrNoMacIsRefused) {
  Unsealed u;
  EXPECT_EQ(Unseal(Key(1), "c1", Seal(Key(2), "c1", DATAGRAM_BEACON_HEADER, "b", kNow), kNow, kWindow, kHeaders, &u),
            UnsealOutcome::kBadMac);
  SealedDatagram bare;  // what a forger without the key can make
  bare.set_cluster("c1");
  bare.set_kind(DATAGRAM_BEACON_HEADER);
  bare.set_sent_unix_ms(kNow);
  bare.set_body("b");
  EXPECT_EQ(Unseal(Key(1), "c1", bare.SerializeAsString(), kNow, kWindow, kHeaders, &u), UnsealOutcome::kBadMac);
  EXPECT_TRUE(u.body.empty()) << "a refused datagram must not hand out its body";
}

TEST(DatagramSealTest, AnyChangedFieldBreaksTheMac) {
  SealedDatagram sd;
  ASSERT_TRUE(sd.ParseFromString(Seal(Key(1), "c1", DATAGRAM_BEACON_HEADER, "body", kNow)));
  Unsealed u;
  auto check = [&](SealedDatagram changed, uint32_t kinds) {
    return Unseal(Key(1), "c1", changed.SerializeAsString(), kNow, kWindow, kinds, &u);
  };
  SealedDatagram body = sd;
  body.set_body("bodx");
  EXPECT_EQ(check(body, kHeaders), UnsealOutcome::kBadMac);
  SealedDatagram time = sd;
  time.set_sent_unix_ms(kNow + 1);  // a replayer refreshing the send time
  EXPECT_EQ(check(time, kHeaders), UnsealOutcome::kBadMac);
  SealedDatagram kind = sd;  // a header passed off as a subscription (own label per kind)
  kind.set_kind(DATAGRAM_SUBSCRIBE);
  EXPECT_EQ(check(kind, kAllKinds), UnsealOutcome::kBadMac);
}

TEST(DatagramSealTest, OtherClusterIsDroppedBeforeTheMac) {
  Unsealed u;
  EXPECT_EQ(Unseal(Key(1), "c1", Seal(Key(2), "c2", DATAGRAM_BEACON_HEADER, "b", kNow), kNow, kWindow, kHeaders, &u),
            UnsealOutcome::kOtherCluster);
}

TEST(DatagramSealTest, UnwantedKindIsSkippedAndGarbageIsMalformed) {
  Unsealed u;
  EXPECT_EQ(Unseal(Key(1), "c1", Seal(Key(1), "c1", DATAGRAM_BEACON_PART, "b", kNow), kNow, kWindow, kHeaders, &u),
            UnsealOutcome::kUnwanted);
  EXPECT_EQ(Unseal(Key(1), "c1", std::string("\xff\xff\xff\xff garbage", 12), kNow, kWindow, kHeaders, &u), UnsealOutcome::kMalformed);
  EXPECT_EQ(Unseal(Key(1), "c1", Seal(Key(1), "c1", DATAGRAM_KIND_UNSPECIFIED, "b", kNow), kNow, kWindow, kAllKinds, &u),
            UnsealOutcome::kMalformed);
}

TEST(DatagramSealTest, SendTimeOutsideTheWindowIsStaleEitherWay) {
  auto bytes = Seal(Key(1), "c1", DATAGRAM_BEACON_HEADER, "b", kNow);
  Unsealed u;
  EXPECT_EQ(Unseal(Key(1), "c1", bytes, kNow + kWindow, kWindow, kHeaders, &u), UnsealOutcome::kOk);
  EXPECT_EQ(Unseal(Key(1), "c1", bytes, kNow + kWindow + 1, kWindow, kHeaders, &u), UnsealOutcome::kStale);  // replayed later
  EXPECT_EQ(Unseal(Key(1), "c1", bytes, kNow - kWindow - 1, kWindow, kHeaders, &u), UnsealOutcome::kStale);  // sender's clock ahead
  // An absurd send time does not overflow the comparison.
  EXPECT_EQ(Unseal(Key(1), "c1", Seal(Key(1), "c1", DATAGRAM_BEACON_HEADER, "b", INT64_MIN), kNow, kWindow, kHeaders, &u),
            UnsealOutcome::kStale);
}

TEST(DatagramSealTest, OverheadBoundsTheSealedSize) {
  for (size_t body : {0u, 100u, 1300u, 60000u}) {
    auto bytes = Seal(Key(1), "a-cluster-name", DATAGRAM_BEACON_PART, std::string(body, 'x'), kNow);
    EXPECT_LE(bytes.size(), body + SealOverhead("a-cluster-name")) << body;
  }
}

}  // namespace
}  // namespace tacc::wire
