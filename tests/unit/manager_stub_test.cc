// The manager stub's choices without I/O: the delta estimator (EstimateQueue and the
// front end's shared tally), suspects and retries (WorkerChooser), on a fake clock.
#include "sns/manager_stub.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using Clock = WorkerChooser::Clock;

struct FakeWorker {
  std::string id;
  double load;
};

// A beacon `seq` from a manager with `frontends` front ends and workers of class "test".
std::shared_ptr<const DirectorySnapshot> Snapshot(uint64_t seq, const std::vector<FakeWorker>& workers, int frontends = 1,
                                                  Clock::time_point received = Clock::now()) {
  wire::Beacon b;
  b.set_cluster("test");
  b.set_epoch(7);
  b.set_seq(seq);
  b.set_interval_ms(500);
  for (int i = 0; i < frontends; ++i) b.add_frontends()->set_index(static_cast<uint32_t>(i));
  for (const auto& fw : workers) {
    auto* w = b.add_workers();
    w->set_id(fw.id);
    w->set_worker_class("test");
    w->set_load(fw.load);
  }
  return DirectorySnapshot::FromBeacon(b, received);
}

Config TestConfig(const std::string& policy = "least_loaded") {
  Config c;
  c.beacon.interval_ms = 500;
  c.stub.balance_policy = policy;
  c.stub.delta_estimator = true;
  return c;
}

// `c` must outlive the chooser, which keeps a reference.
// The chooser keeps a reference to `c`, which must outlive it.
WorkerChooser Chooser(const Config& c, uint64_t seed = 1) { return WorkerChooser(c, MakeBalancePolicy(c.stub.balance_policy, seed)); }
WorkerChooser Chooser(const Config&& c, uint64_t seed = 1) = delete;

// --- EstimateQueue ---------------------------------------------------------------

TEST(EstimateQueueTest, OneFrontEndIsBeaconLoadPlusOwnDelta) {
  // With one front end the tally is every task sent and answered since the beacon.
  EXPECT_DOUBLE_EQ(EstimateQueue(2.0, {.sent = 3, .answered = 1}, 5.0, 1), 4.0);
  EXPECT_DOUBLE_EQ(EstimateQueue(2.0, {.sent = 3, .answered = 1}, 0.0, 1), 4.0);  // the class mean plays no part
  EXPECT_DOUBLE_EQ(EstimateQueue(1.5, {}, 0.0, 0), 1.5);                          // no front end in the beacon: as one
}

TEST(EstimateQueueTest, EachSendCountsOncePerFrontEnd) {
  // The other front ends saw the same beacon and are assumed to send where this one did.
  for (int fes : {1, 2, 4, 8}) {
    double before = EstimateQueue(1.0, {.sent = 2, .answered = 1}, 1.0, fes);
    double after = EstimateQueue(1.0, {.sent = 3, .answered = 1}, 1.0, fes);
    EXPECT_DOUBLE_EQ(after - before, fes) << fes << " front ends";
  }
}

TEST(EstimateQueueTest, OwnAnswersAreShrunkTowardTheClassMean) {
  // An answer of this front end's own is certain; the others' answers are taken half from
  // this worker's own count and half from the class mean: an answer lowers the estimate
  // by 1 + (F - 1) / 2, not by F as scaling the whole delta would.
  for (int fes : {1, 2, 4, 8}) {
    double before = EstimateQueue(5.0, {.sent = 4, .answered = 1}, 2.0, fes);
    double after = EstimateQueue(5.0, {.sent = 4, .answered = 2}, 2.0, fes);
    EXPECT_DOUBLE_EQ(before - after, 1 + (fes - 1) / 2.0) << fes << " front ends";
  }
  // A class whose workers answered more lowers every worker's estimate alike.
  EXPECT_LT(EstimateQueue(5.0, {.sent = 4, .answered = 1}, 3.0, 4), EstimateQueue(5.0, {.sent = 4, .answered = 1}, 1.0, 4));
}

TEST(EstimateQueueTest, NeverNegative) {
  for (int fes : {1, 2, 4, 16}) {
    EXPECT_EQ(EstimateQueue(0.5, {.sent = 0, .answered = 5}, 5.0, fes), 0.0);
    EXPECT_EQ(EstimateQueue(0.0, {.sent = 1, .answered = 9}, 0.0, fes), 0.0);
    EXPECT_GE(EstimateQueue(0.2, {.sent = 1, .answered = 2}, 8.0, fes), 0.0);
  }
}

// Regression guard: clamping with std::max(0.0, NaN) yields 0, which would make a worker
// with a garbled load look idle to every policy.
TEST(EstimateQueueTest, NonFiniteLoadIsNotMadeIdle) {
  EXPECT_TRUE(std::isnan(EstimateQueue(std::nan(""), {.sent = 1}, 0.0, 2)));
  EXPECT_TRUE(std::isinf(EstimateQueue(INFINITY, {}, 0.0, 1)));
}

// --- the front end's tally, through WorkerChooser::Estimates --------------------------

TEST(WorkerChooserTest, EstimatesFollowTheTallyUntilANewBeacon) {
  Config config = TestConfig();
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 2.0}, {"b", 1.0}}));
  dir.RecordSent("a");
  dir.RecordSent("a");
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{4.0, 1.0}));

  // The same beacon again (a repeat datagram) keeps the tally.
  dir.Set(Snapshot(1, {{"a", 2.0}, {"b", 1.0}}));
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{4.0, 1.0}));

  // A new beacon's loads include what was sent before it: the tally starts over.
  dir.Set(Snapshot(2, {{"a", 3.5}, {"b", 1.0}}));
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{3.5, 1.0}));

  // An answer to a task sent before this beacon lowers the estimate: the queue shrank.
  dir.RecordAnswered("a");
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{2.5, 1.0}));
}

// A worker's answer announces its load then: fresher than the beacon's smoothed load, so
// the estimate starts from it (and counts sends from it) until a beacon newer than it.
TEST(WorkerChooserTest, AnsweredLoadReplacesTheBeaconsUntilABeaconNewerThanIt) {
  Config config = TestConfig();
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  const auto t0 = Clock::time_point{} + 1h;
  dir.Set(Snapshot(1, {{"a", 2.0}, {"b", 1.0}}, 1, t0));
  dir.RecordSent("a");
  dir.RecordSent("a");
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{4.0, 1.0}));
  dir.RecordAnswered("a", 0.5, t0 + 100ms);  // a had half a task's load when it answered
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{0.5, 1.0}));
  dir.RecordSent("a");
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{1.5, 1.0}));

  // The next beacon's load for a is older than that answer (reports are smoothed and a
  // period old): the answer's stays.
  dir.Set(Snapshot(2, {{"a", 3.0}, {"b", 1.0}}, 1, t0 + 500ms));
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{1.5, 1.0}));
  // The beacon after that is newer than the answer: back to the beacon's load.
  dir.Set(Snapshot(3, {{"a", 3.0}, {"b", 1.0}}, 1, t0 + 1000ms));
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{3.0, 1.0}));

  // An announced load that is not a finite, non-negative number counts as a plain answer.
  dir.RecordAnswered("b", std::nan(""), t0 + 1100ms);
  dir.RecordAnswered("b", -4.0, t0 + 1100ms);
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test")[1], 0.0);
}

TEST(WorkerChooserTest, EstimatorOffUsesBeaconLoadsOnly) {
  Config config = TestConfig();
  config.stub.delta_estimator = false;
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 2.0}, {"b", 1.0}}, 3));
  for (int i = 0; i < 5; ++i) dir.RecordSent("b");
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test"), (std::vector<double>{2.0, 1.0}));
}

TEST(WorkerChooserTest, SendsScaleWithTheFrontEndsInTheBeacon) {
  Config config = TestConfig();
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 0.0}, {"b", 1.0}, {"c", 1.0}}, /*frontends=*/4));
  dir.RecordSent("a");
  // One send here stands for one from each of the 4 front ends.
  EXPECT_EQ(chooser.Estimates(*dir.Get(), dir, "test")[0], 4.0);
}

// The herd of issue 6: the threads of one front end used to estimate each on its own, so
// right after a beacon all of them sent to the same shortest queue. They share the
// front end's tally now: consecutive tasks from different threads spread out.
TEST(WorkerChooserTest, ThreadsOfOneFrontEndDoNotHerd) {
  Config config = TestConfig("least_loaded");
  SharedDirectory dir;
  std::vector<WorkerChooser> threads;
  for (uint64_t seed = 1; seed <= 4; ++seed) threads.push_back(Chooser(config, seed));
  dir.Set(Snapshot(1, {{"w1", 0.4}, {"w2", 0.6}, {"w3", 0.8}, {"w4", 0.5}}));
  std::set<std::string> picked;
  auto now = Clock::time_point{} + 1h;
  for (auto& t : threads) {
    const wire::WorkerInfo* w = t.Choose(*dir.Get(), dir, "test", {}, now);
    ASSERT_NE(w, nullptr);
    picked.insert(w->id());
    dir.RecordSent(w->id());
  }
  EXPECT_EQ(picked.size(), 4u) << "four tasks from four threads went to " << picked.size() << " workers";
}

TEST(WorkerChooserTest, TallyAddsUpAcrossThreads) {
  // The front end's threads record into one tally at once.
  SharedDirectory dir;
  dir.Set(Snapshot(1, {{"a", 0.0}, {"b", 0.0}}));
  constexpr int kThreads = 4, kTasks = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&dir] {
      std::vector<DispatchCounts> counts;
      auto snap = dir.Get();
      for (int i = 0; i < kTasks; ++i) {
        dir.RecordSent("a");
        dir.RecordAnswered("b");
        dir.CountsOf(snap->WorkersOf("test"), counts);
      }
    });
  for (auto& t : threads) t.join();
  std::vector<DispatchCounts> counts;
  dir.CountsOf(dir.Get()->WorkersOf("test"), counts);
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].sent, kThreads * kTasks);
  EXPECT_EQ(counts[0].answered, 0);
  EXPECT_EQ(counts[1].sent, 0);
  EXPECT_EQ(counts[1].answered, kThreads * kTasks);
}

// --- suspects and retries, on a fake clock -------------------------------------------

TEST(WorkerChooserTest, SuspectIsAvoidedForTwoBeaconPeriodsThenTriedAgain) {
  Config config = TestConfig("least_loaded");
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"fast", 0.0}, {"slow", 3.0}}));
  auto t0 = Clock::time_point{} + 1h;
  ASSERT_EQ(chooser.Choose(*dir.Get(), dir, "test", {}, t0)->id(), "fast");

  chooser.MarkSuspect("fast", t0);  // e.g. a task there timed out
  EXPECT_TRUE(chooser.IsSuspect("fast", t0));
  EXPECT_FALSE(chooser.IsSuspect("slow", t0));
  for (auto t : {t0, t0 + 500ms, t0 + 999ms}) EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", {}, t)->id(), "slow");

  // Two beacon periods (2 x 500 ms) later it is tried again.
  EXPECT_FALSE(chooser.IsSuspect("fast", t0 + 1000ms));
  EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", {}, t0 + 1000ms)->id(), "fast");
}

TEST(WorkerChooserTest, SuspectPeriodFollowsTheBeaconInterval) {
  Config config = TestConfig("least_loaded");
  config.beacon.interval_ms = 2000;
  WorkerChooser chooser = Chooser(config);
  auto t0 = Clock::time_point{} + 1h;
  chooser.MarkSuspect("w", t0);
  EXPECT_TRUE(chooser.IsSuspect("w", t0 + 3999ms));
  EXPECT_FALSE(chooser.IsSuspect("w", t0 + 4000ms));
}

TEST(WorkerChooserTest, MarkingAgainExtendsTheSuspicion) {
  Config config = TestConfig();
  WorkerChooser chooser = Chooser(config);
  auto t0 = Clock::time_point{} + 1h;
  chooser.MarkSuspect("w", t0);
  chooser.MarkSuspect("w", t0 + 800ms);
  EXPECT_TRUE(chooser.IsSuspect("w", t0 + 1500ms));
  EXPECT_FALSE(chooser.IsSuspect("w", t0 + 1800ms));
}

TEST(WorkerChooserTest, WhenAllAreSuspectSuspectsGetAnotherGo) {
  Config config = TestConfig("lottery");
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 0.0}, {"b", 1.0}}));
  auto t0 = Clock::time_point{} + 1h;
  chooser.MarkSuspect("a", t0);
  chooser.MarkSuspect("b", t0);
  std::set<std::string> picked;
  for (int i = 0; i < 200; ++i) {
    const wire::WorkerInfo* w = chooser.Choose(*dir.Get(), dir, "test", {}, t0 + 10ms);
    ASSERT_NE(w, nullptr) << "every worker suspect must not mean no worker";
    picked.insert(w->id());
  }
  EXPECT_EQ(picked, (std::set<std::string>{"a", "b"}));  // both still get their lottery share
}

TEST(WorkerChooserTest, RetryNeverGoesToAWorkerAlreadyTried) {
  Config config = TestConfig("lottery");
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config, 42);
  dir.Set(Snapshot(1, {{"a", 0.0}, {"b", 5.0}, {"c", 9.0}}));
  auto now = Clock::time_point{} + 1h;
  std::vector<std::string> tried = {"a"};
  std::set<std::string> picked;
  for (int i = 0; i < 500; ++i) picked.insert(chooser.Choose(*dir.Get(), dir, "test", tried, now)->id());
  EXPECT_EQ(picked, (std::set<std::string>{"b", "c"}));

  tried = {"a", "c"};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", tried, now)->id(), "b");
  tried = {"a", "b", "c"};
  EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", tried, now), nullptr);
}

TEST(WorkerChooserTest, RetryPrefersAnUntriedHealthyWorkerThenAnUntriedSuspect) {
  Config config = TestConfig("least_loaded");
  SharedDirectory dir;
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 0.0}, {"b", 0.5}, {"c", 7.0}}));
  auto t0 = Clock::time_point{} + 1h;
  chooser.MarkSuspect("b", t0);
  std::vector<std::string> tried = {"a"};
  EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", tried, t0)->id(), "c");  // b is shorter but suspect
  tried = {"a", "c"};
  EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "test", tried, t0)->id(), "b");  // the suspect's other go
}

TEST(WorkerChooserTest, NoWorkerOfTheClass) {
  SharedDirectory dir;
  Config config = TestConfig();
  WorkerChooser chooser = Chooser(config);
  dir.Set(Snapshot(1, {{"a", 0.0}}));
  EXPECT_EQ(chooser.Choose(*dir.Get(), dir, "other", {}, Clock::time_point{}), nullptr);
  EXPECT_TRUE(chooser.Estimates(*dir.Get(), dir, "other").empty());
}

}  // namespace
}  // namespace tacc::sns
