#include "sns/worker_directory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = WorkerDirectory::Clock;

// Fake time: an arbitrary fixed origin, advanced by hand.
const Clock::time_point kT0 = Clock::time_point{} + 1000h;

// Connections are opaque keys: any distinct addresses do.
int conn_a, conn_b, conn_c;

WorkerDirectory::Registration Reg(const std::string& id, const std::string& cls = "echo", pid_t launched = 0) {
  WorkerDirectory::Registration r;
  r.id = id;
  r.cls = cls;
  r.host = "h";
  r.address.set_host("127.0.0.1");
  r.address.set_port(4000);
  r.pid = 77;
  r.launched_pid = launched;
  return r;
}

TEST(WorkerDirectoryTest, RegistersAndFindsByIdAndConnection) {
  WorkerDirectory d(0.5);
  auto r = d.Register(&conn_a, Reg("echo-1", "echo", 1234), kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, nullptr);  // nothing superseded
  const auto* w = d.Find("echo-1");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(d.FindByConn(&conn_a), w);
  EXPECT_EQ(w->launched_pid, 1234);
  EXPECT_EQ(w->last_busy, kT0);
  EXPECT_TRUE(d.HasConnection(&conn_a));
  EXPECT_FALSE(d.HasConnection(&conn_b));
  EXPECT_EQ(d.Live("echo"), 1);
  EXPECT_EQ(d.Live("other"), 0);
}

TEST(WorkerDirectoryTest, OneConnectionIsOneWorker) {
  WorkerDirectory d(0.5);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  auto second = d.Register(&conn_a, Reg("echo-2"), kT0);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.Find("echo-2"), nullptr);
  // The same id again on the same connection is refused too (not a supersede).
  EXPECT_FALSE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  EXPECT_EQ(d.Live("echo"), 1);
}

TEST(WorkerDirectoryTest, ReRegistrationOnANewConnectionSupersedes) {
  WorkerDirectory d(0.5);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_a, 4, 1, 1, kT0).ok());
  auto r = d.Register(&conn_b, Reg("echo-1"), kT0 + 1s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, static_cast<const void*>(&conn_a));  // for the caller to close
  EXPECT_EQ(d.size(), 1u);
  EXPECT_FALSE(d.HasConnection(&conn_a));
  EXPECT_EQ(d.FindByConn(&conn_b)->id, "echo-1");
  EXPECT_EQ(d.Find("echo-1")->load, 0);  // a fresh record
  // The old connection dropping later finds nothing: no crash is counted for it.
  EXPECT_FALSE(d.Remove(&conn_a).has_value());
  EXPECT_EQ(d.Live("echo"), 1);
}

TEST(WorkerDirectoryTest, LoadIsSmoothed) {
  WorkerDirectory d(0.25);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_a, 8, 8, 0, kT0).ok());
  EXPECT_DOUBLE_EQ(d.Find("echo-1")->load, 2);  // 0.25*8 + 0.75*0
  ASSERT_TRUE(d.Report(&conn_a, 8, 8, 0, kT0).ok());
  EXPECT_DOUBLE_EQ(d.Find("echo-1")->load, 3.5);  // 0.25*8 + 0.75*2
  ASSERT_TRUE(d.Report(&conn_a, 0, 0, 0, kT0).ok());
  EXPECT_DOUBLE_EQ(d.Find("echo-1")->load, 2.625);
}

TEST(WorkerDirectoryTest, NanAndNegativeLoadsAreRefused) {
  WorkerDirectory d(0.5);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_a, 2, 1, 0, kT0).ok());
  for (double bad : {std::nan(""), -1.0, std::numeric_limits<double>::infinity()}) {
    Status s = d.Report(&conn_a, bad, 1, 0, kT0);
    EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument) << bad;
  }
  EXPECT_DOUBLE_EQ(d.Find("echo-1")->load, 1);                              // unchanged
  EXPECT_EQ(d.Report(&conn_b, 1, 0, 0, kT0).kind(), ErrorKind::kNotFound);  // not registered
}

TEST(WorkerDirectoryTest, LastBusyMovesOnlyWithWork) {
  WorkerDirectory d(0.5);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_a, 0, 0, 0, kT0 + 5s).ok());  // idle, nothing completed
  EXPECT_EQ(d.Find("echo-1")->last_busy, kT0);
  ASSERT_TRUE(d.Report(&conn_a, 0, 0, 3, kT0 + 6s).ok());  // completed tasks since
  EXPECT_EQ(d.Find("echo-1")->last_busy, kT0 + 6s);
  ASSERT_TRUE(d.Report(&conn_a, 1, 2, 3, kT0 + 7s).ok());  // queued tasks
  EXPECT_EQ(d.Find("echo-1")->last_busy, kT0 + 7s);
  ASSERT_TRUE(d.Report(&conn_a, 0, 0, 3, kT0 + 9s).ok());
  EXPECT_EQ(d.Find("echo-1")->last_busy, kT0 + 7s);
}

TEST(WorkerDirectoryTest, DrainingAndLeavingWorkers) {
  WorkerDirectory d(0.5);
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Register(&conn_b, Reg("echo-2"), kT0).ok());
  ASSERT_TRUE(d.Register(&conn_c, Reg("upper-1", "upper"), kT0).ok());
  EXPECT_EQ(d.Live("echo"), 2);
  EXPECT_TRUE(d.MarkDraining("echo-1"));
  EXPECT_FALSE(d.MarkDraining("echo-1"));  // once
  EXPECT_FALSE(d.MarkDraining("nobody"));
  EXPECT_EQ(d.Live("echo"), 1);
  d.MarkLeaving(&conn_b);
  auto gone = d.Remove(&conn_b);
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(gone->leaving);
  EXPECT_EQ(gone->id, "echo-2");
  EXPECT_EQ(d.Live("echo"), 0);
  EXPECT_EQ(d.Live("upper"), 1);
  EXPECT_EQ(d.Find("echo-2"), nullptr);
}

// The class totals kept as workers come, report, drain, leave and re-register must
// equal a walk over the records (the policy tick reads only the totals).
TEST(WorkerDirectoryTest, ClassTotalsMatchTheRecords) {
  WorkerDirectory d(1.0);  // no smoothing: a report sets the load
  int conn_d, conn_e;
  ASSERT_TRUE(d.Register(&conn_a, Reg("echo-1"), kT0).ok());
  ASSERT_TRUE(d.Register(&conn_b, Reg("echo-2"), kT0).ok());
  ASSERT_TRUE(d.Register(&conn_c, Reg("other-1", "other"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_a, 4, 4, 0, kT0).ok());
  ASSERT_TRUE(d.Report(&conn_b, 2, 2, 0, kT0).ok());
  ASSERT_TRUE(d.Report(&conn_c, 9, 9, 0, kT0).ok());
  EXPECT_EQ(d.Live("echo"), 2);
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 3);
  EXPECT_EQ(d.Live("other"), 1);
  EXPECT_DOUBLE_EQ(d.MeanLoad("other"), 9);
  EXPECT_EQ(d.Live("nobody"), 0);
  EXPECT_DOUBLE_EQ(d.MeanLoad("nobody"), 0);

  ASSERT_TRUE(d.Report(&conn_a, 8, 8, 0, kT0).ok());  // a new report replaces the old
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 5);

  EXPECT_TRUE(d.MarkDraining("echo-1"));  // draining: out of the totals
  EXPECT_EQ(d.Live("echo"), 1);
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 2);
  ASSERT_TRUE(d.Report(&conn_a, 100, 100, 0, kT0).ok());  // a draining worker's reports count for nothing
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 2);
  d.Remove(&conn_a);  // removing a draining worker changes nothing more
  EXPECT_EQ(d.Live("echo"), 1);

  // echo-2 re-registers on a new connection: still one live worker, its load starts afresh.
  ASSERT_TRUE(d.Register(&conn_d, Reg("echo-2"), kT0).ok());
  EXPECT_EQ(d.Live("echo"), 1);
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 0);
  ASSERT_TRUE(d.Register(&conn_e, Reg("echo-3"), kT0).ok());
  ASSERT_TRUE(d.Report(&conn_e, 6, 6, 0, kT0).ok());
  EXPECT_EQ(d.Live("echo"), 2);
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 3);
  d.Remove(&conn_d);
  d.Remove(&conn_e);
  EXPECT_EQ(d.Live("echo"), 0);
  EXPECT_DOUBLE_EQ(d.MeanLoad("echo"), 0);
}

// Load announcements (datagrams) find their worker by the registration's token, are
// taken once per sequence number, and stop counting when the worker goes.
TEST(WorkerDirectoryTest, AnnouncementsByTokenAndSequence) {
  using A = WorkerDirectory::Announcement;
  WorkerDirectory d(1.0);
  auto r = Reg("echo-1");
  r.report_token = 99;
  ASSERT_TRUE(d.Register(&conn_a, r, kT0).ok());
  EXPECT_TRUE(d.HasToken(99));
  EXPECT_EQ(d.Announce(99, 1, 2.0, 2, 0, kT0 + 1s), A::kTaken);
  EXPECT_EQ(d.Find("echo-1")->load, 2.0);
  EXPECT_EQ(d.Announce(99, 1, 5.0, 5, 0, kT0 + 1s), A::kReplayed);
  EXPECT_EQ(d.Announce(98, 2, 5.0, 5, 0, kT0 + 1s), A::kUnknownToken);
  EXPECT_EQ(d.Announce(0, 2, 5.0, 5, 0, kT0 + 1s), A::kUnknownToken);  // 0 is no token
  EXPECT_EQ(d.Announce(99, 2, -1.0, 0, 0, kT0 + 1s), A::kBadLoad);
  EXPECT_EQ(d.Find("echo-1")->load, 2.0);
  EXPECT_EQ(d.MeanLoad("echo"), 2.0);

  // Re-registered on a new connection with a new token: the old token is dead.
  r.report_token = 100;
  ASSERT_TRUE(d.Register(&conn_b, r, kT0 + 2s).ok());
  EXPECT_FALSE(d.HasToken(99));
  EXPECT_EQ(d.Announce(99, 3, 1.0, 1, 0, kT0 + 2s), A::kUnknownToken);
  EXPECT_EQ(d.Announce(100, 1, 1.0, 1, 0, kT0 + 2s), A::kTaken);  // sequence numbers are per registration
  d.Remove(&conn_b);
  EXPECT_FALSE(d.HasToken(100));
  EXPECT_EQ(d.Announce(100, 2, 1.0, 1, 0, kT0 + 3s), A::kUnknownToken);
}

// A worker is silent when no report came (by datagram or over TCP) within the timeout;
// registering counts as having been heard.
TEST(WorkerDirectoryTest, SilentWorkersAreThoseWithNoRecentReport) {
  WorkerDirectory d(1.0);
  auto r1 = Reg("echo-1");
  r1.report_token = 1;
  ASSERT_TRUE(d.Register(&conn_a, r1, kT0).ok());
  ASSERT_TRUE(d.Register(&conn_b, Reg("echo-2"), kT0).ok());
  EXPECT_TRUE(d.Silent(kT0 + 3s, 3s).empty());
  EXPECT_EQ(d.Announce(1, 1, 0, 0, 0, kT0 + 2s), WorkerDirectory::Announcement::kTaken);
  ASSERT_TRUE(d.Report(&conn_b, 0, 0, 0, kT0 + 1s).ok());
  EXPECT_EQ(d.Silent(kT0 + 4500ms, 3s), std::vector<WorkerDirectory::ConnKey>{&conn_b});
  EXPECT_EQ(d.Silent(kT0 + 5500ms, 3s).size(), 2u);
}

}  // namespace
}  // namespace tacc::sns
