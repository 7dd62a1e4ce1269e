#include "sns/directory_snapshot.h"

#include <gtest/gtest.h>

#include <set>

namespace tacc::sns {
namespace {

wire::Beacon MakeBeacon() {
  wire::Beacon b;
  b.set_cluster("c");
  b.set_epoch(3);
  b.set_seq(17);
  auto add = [&](const std::string& id, const std::string& cls, double load) {
    auto* w = b.add_workers();
    w->set_id(id);
    w->set_worker_class(cls);
    w->set_load(load);
    w->mutable_address()->set_host("127.0.0.1");
    w->mutable_address()->set_port(4000 + b.workers_size());
  };
  add("a1", "alpha", 0.5);
  add("b1", "beta", 2);
  add("a2", "alpha", 1.5);
  add("a3", "alpha", 0);
  return b;
}

TEST(DirectorySnapshotTest, GroupsWorkersByClassInBeaconOrder) {
  auto snap = DirectorySnapshot::FromBeacon(MakeBeacon());
  auto& alpha = snap->WorkersOf("alpha");
  ASSERT_EQ(alpha.size(), 3u);
  EXPECT_EQ(alpha[0]->id(), "a1");
  EXPECT_EQ(alpha[1]->id(), "a2");
  EXPECT_EQ(alpha[2]->id(), "a3");
  EXPECT_DOUBLE_EQ(alpha[1]->load(), 1.5);
  auto& beta = snap->WorkersOf("beta");
  ASSERT_EQ(beta.size(), 1u);
  EXPECT_EQ(beta[0]->id(), "b1");
  EXPECT_EQ(beta[0]->address().port(), 4002u);
  EXPECT_EQ(snap->by_class.size(), 2u);
  EXPECT_EQ(snap->beacon.seq(), 17u);
}

TEST(DirectorySnapshotTest, UnknownClassHasNoWorkers) {
  auto snap = DirectorySnapshot::FromBeacon(MakeBeacon());
  EXPECT_TRUE(snap->WorkersOf("gamma").empty());
  EXPECT_TRUE(snap->WorkersOf("").empty());
  auto empty = DirectorySnapshot::FromBeacon(wire::Beacon());
  EXPECT_TRUE(empty->WorkersOf("alpha").empty());
  EXPECT_TRUE(empty->by_class.empty());
}

TEST(DirectorySnapshotTest, PointsIntoItsOwnCopyOfTheBeacon) {
  auto beacon = std::make_unique<wire::Beacon>(MakeBeacon());
  auto snap = DirectorySnapshot::FromBeacon(*beacon);
  beacon->mutable_workers(0)->set_id("changed");
  beacon.reset();  // the snapshot must not refer to the caller's beacon
  const auto& alpha = snap->WorkersOf("alpha");
  ASSERT_EQ(alpha.size(), 3u);
  EXPECT_EQ(alpha[0]->id(), "a1");
  std::set<const wire::WorkerInfo*> own;
  for (auto& w : snap->beacon.workers()) own.insert(&w);
  for (auto& [cls, workers] : snap->by_class)
    for (auto* w : workers) EXPECT_TRUE(own.count(w)) << cls;
}

TEST(SharedDirectoryTest, HoldsTheNewestSnapshot) {
  SharedDirectory dir;
  EXPECT_EQ(dir.Get(), nullptr);
  auto first = DirectorySnapshot::FromBeacon(MakeBeacon());
  dir.Set(first);
  EXPECT_EQ(dir.Get(), first);
  auto b = MakeBeacon();
  b.set_seq(18);
  auto second = DirectorySnapshot::FromBeacon(b);
  dir.Set(second);
  EXPECT_EQ(dir.Get()->beacon.seq(), 18u);
  EXPECT_EQ(first->WorkersOf("alpha").size(), 3u);  // old readers keep a valid snapshot
}

}  // namespace
}  // namespace tacc::sns
