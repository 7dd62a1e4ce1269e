#include "sns/load_report_receiver.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cmath>
#include <vector>

#include "wire/datagram_seal.h"

namespace tacc::sns {
namespace {

using V = LoadReportReceiver::Verdict;

ClusterKey Key(uint8_t fill) {
  std::array<uint8_t, ClusterKey::kBytes> b{};
  b.fill(fill);
  return ClusterKey::FromBytes(b);
}

constexpr int64_t kNow = 1'800'000'000'000;  // a fixed wall-clock time (ms)

std::string Announcement(uint64_t token, uint64_t seq, double load) {
  wire::LoadAnnouncement a;
  a.set_token(token);
  a.set_seq(seq);
  a.mutable_report()->set_weighted_load(load);
  a.mutable_report()->set_queue_length(static_cast<uint32_t>(load));
  return a.SerializeAsString();
}

std::string Sealed(const ClusterKey& key, uint64_t token, uint64_t seq, double load, int64_t sent = kNow,
                   wire::DatagramKind kind = wire::DATAGRAM_LOAD_REPORT) {
  return wire::Seal(key, "c1", kind, Announcement(token, seq, load), sent);
}

TEST(LoadReportReceiverTest, JudgeTakesOnlySealedFreshLoadReports) {
  wire::LoadAnnouncement a;
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, Sealed(Key(1), 7, 1, 2.5), kNow + 10, &a), V::kTaken);
  EXPECT_EQ(a.token(), 7u);
  EXPECT_EQ(a.report().weighted_load(), 2.5);
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, Sealed(Key(2), 7, 1, 2.5), kNow, &a), V::kUnauthenticated);
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, Sealed(Key(1), 7, 1, 2.5, kNow - 60'000), kNow, &a), V::kStale);
  // A subscription's MAC is no good as a load report's, nor is another cluster's datagram.
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, Sealed(Key(1), 7, 1, 2.5, kNow, wire::DATAGRAM_SUBSCRIBE), kNow, &a), V::kUnwanted);
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c2", 5000, Sealed(Key(1), 7, 1, 2.5), kNow, &a), V::kOtherCluster);
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, "not a datagram at all", kNow, &a), V::kMalformed);
  // Sealed, but the body is not a LoadAnnouncement.
  EXPECT_EQ(LoadReportReceiver::Judge(Key(1), "c1", 5000, wire::Seal(Key(1), "c1", wire::DATAGRAM_LOAD_REPORT, "\xff\xff\xff", kNow), kNow, &a),
            V::kMalformed);
}

// Through a real WorkerDirectory: a report reaches the worker with that token, once.
TEST(LoadReportReceiverTest, HandleFeedsTheDirectoryAndCountsRefusals) {
  boost::asio::io_context io;
  Config config;
  config.cluster.name = "c1";
  config.beacon.freshness_ms = 600'000'000;  // kNow is fixed; the wall clock is not used
  ClusterKey key = Key(1);
  WorkerDirectory dir(1.0);
  int conn;
  WorkerDirectory::Registration r;
  r.id = "test-1";
  r.cls = "test";
  r.report_token = 42;
  auto t0 = WorkerDirectory::Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(dir.Register(&conn, r, t0).ok());
  LoadReportReceiver rx(io, config, key, [&](const wire::LoadAnnouncement& a) {
    return dir.Announce(a.token(), a.seq(), a.report().weighted_load(), a.report().queue_length(), a.report().completed(), t0);
  });
  auto& c = LoadReportStats();
  const uint64_t taken = c.taken.value(), replayed = c.replayed.value(), forged = c.unauthenticated.value(),
                 unknown = c.unknown_token.value(), malformed = c.malformed.value();
  boost::asio::ip::udp::endpoint from;
  int64_t now = wire::NowUnixMs();

  EXPECT_EQ(rx.Handle(Sealed(key, 42, 1, 3.0, now), from, now), V::kTaken);
  EXPECT_EQ(dir.Find("test-1")->load, 3.0);
  EXPECT_EQ(rx.Handle(Sealed(key, 42, 1, 9.0, now), from, now), V::kReplayed);  // the same seq again
  EXPECT_EQ(rx.Handle(Sealed(Key(2), 42, 2, 9.0, now), from, now), V::kUnauthenticated);
  EXPECT_EQ(rx.Handle(Sealed(key, 43, 2, 9.0, now), from, now), V::kUnknownToken);
  EXPECT_EQ(rx.Handle(Sealed(key, 42, 2, std::nan(""), now), from, now), V::kBadLoad);
  EXPECT_EQ(dir.Find("test-1")->load, 3.0) << "a refused report changed the load";
  EXPECT_EQ(rx.Handle(Sealed(key, 42, 5, 1.0, now), from, now), V::kTaken);  // seq may skip (datagrams are lost)
  EXPECT_EQ(dir.Find("test-1")->load, 1.0);

  EXPECT_EQ(c.taken.value() - taken, 2u);
  EXPECT_EQ(c.replayed.value() - replayed, 1u);
  EXPECT_EQ(c.unauthenticated.value() - forged, 1u);
  EXPECT_EQ(c.unknown_token.value() - unknown, 1u);
  EXPECT_EQ(c.malformed.value() - malformed, 1u);  // the NaN load
}

// The manager's socket, for real: datagrams sent to it on loopback reach the sink.
TEST(LoadReportReceiverTest, ReceivesDatagramsOnItsPort) {
  boost::asio::io_context io;
  Config config;
  config.cluster.name = "c1";
  ClusterKey key = Key(1);
  std::vector<uint64_t> seqs;
  LoadReportReceiver rx(io, config, key, [&](const wire::LoadAnnouncement& a) {
    seqs.push_back(a.seq());
    if (seqs.size() == 100) io.stop();
    return WorkerDirectory::Announcement::kTaken;
  });
  // Bind an ephemeral port: find one by binding a throwaway socket first.
  boost::asio::ip::udp::socket probe(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = probe.local_endpoint().port();
  probe.close();
  ASSERT_TRUE(rx.Open("127.0.0.1", port).ok());
  rx.Start();
  boost::asio::ip::udp::socket tx(io, boost::asio::ip::udp::v4());
  boost::asio::ip::udp::endpoint to(boost::asio::ip::make_address("127.0.0.1"), port);
  for (uint64_t s = 1; s <= 100; ++s) tx.send_to(boost::asio::buffer(Sealed(key, 1, s, 1.0, wire::NowUnixMs())), to);
  tx.send_to(boost::asio::buffer(std::string(5000, 'x')), to);  // too big for a report: refused, not fatal
  io.run_for(std::chrono::seconds(5));
  ASSERT_EQ(seqs.size(), 100u);
  for (uint64_t s = 1; s <= 100; ++s) EXPECT_EQ(seqs[s - 1], s);
}

}  // namespace
}  // namespace tacc::sns
