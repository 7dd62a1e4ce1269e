#include "wire/beacon_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tacc::wire {
namespace {

// A directory of `n` workers over a few classes and hosts, as a manager would beacon it.
Beacon BigBeacon(int n, uint64_t epoch = 7, uint64_t seq = 42) {
  Beacon b;
  b.set_cluster("c1");
  b.set_epoch(epoch);
  b.set_seq(seq);
  b.mutable_manager()->set_host("10.0.0.1");
  b.mutable_manager()->set_port(7400);
  b.set_interval_ms(500);
  b.set_manager_pid(99);
  for (int i = 0; i < 3; ++i) {
    auto* c = b.add_classes();
    c->set_name("class" + std::to_string(i));
    c->set_workers(static_cast<uint32_t>(n / 3));
    c->set_mean_load(1.5);
  }
  for (int i = 0; i < 4; ++i) {
    auto* f = b.add_frontends();
    f->set_index(static_cast<uint32_t>(i));
    f->mutable_http()->set_host("10.0.1." + std::to_string(i));
    f->mutable_http()->set_port(8080);
    f->set_pid(static_cast<uint32_t>(1000 + i));
  }
  // In the manager's order (by id: class, then host, then port), over 3 classes and 50 hosts.
  for (int i = 0; i < n; ++i) {
    auto* w = b.add_workers();
    std::string cls = "class" + std::to_string(i * 3 / std::max(n, 1));
    std::string host = "10.0.2." + std::to_string(i * 150 / std::max(n, 1) % 50);
    uint32_t port = static_cast<uint32_t>(20000 + i);
    w->set_worker_class(cls);
    w->mutable_address()->set_host(host);
    w->mutable_address()->set_port(port);
    w->set_id(cls + "@" + host + ":" + std::to_string(port));
    w->set_host(host);
    w->set_pid(static_cast<uint32_t>(5000 + i));
    w->set_load((i % 17) * 0.125);
  }
  return b;
}

void ExpectSameDirectory(const Beacon& got, const Beacon& want) {
  EXPECT_EQ(got.epoch(), want.epoch());
  EXPECT_EQ(got.seq(), want.seq());
  EXPECT_EQ(got.manager().port(), want.manager().port());
  ASSERT_EQ(got.workers_size(), want.workers_size());
  ASSERT_EQ(got.frontends_size(), want.frontends_size());
  ASSERT_EQ(got.classes_size(), want.classes_size());
  for (int i = 0; i < want.workers_size(); ++i) {
    auto& g = got.workers(i);
    auto& w = want.workers(i);
    ASSERT_EQ(g.id(), w.id()) << i;
    EXPECT_EQ(g.worker_class(), w.worker_class());
    EXPECT_EQ(g.address().host(), w.address().host());
    EXPECT_EQ(g.address().port(), w.address().port());
    EXPECT_EQ(g.host(), w.host());
    EXPECT_EQ(g.pid(), w.pid());
    EXPECT_NEAR(g.load(), w.load(), 0.0005);
  }
  for (int i = 0; i < want.frontends_size(); ++i) EXPECT_EQ(got.frontends(i).SerializeAsString(), want.frontends(i).SerializeAsString());
  for (int i = 0; i < want.classes_size(); ++i) EXPECT_EQ(got.classes(i).SerializeAsString(), want.classes(i).SerializeAsString());
}

constexpr size_t kBudget = 1300;

TEST(BeaconSplitTest, TenThousandWorkersFitInDatagramsUnderTheBudget) {
  Beacon b = BigBeacon(10000);
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->dropped, 0u);
  EXPECT_LE(split->header.ByteSizeLong(), kBudget);
  EXPECT_EQ(split->header.workers_size(), 0);
  EXPECT_EQ(split->header.parts(), split->parts.size());
  size_t total = 0;
  for (auto& p : split->parts) {
    EXPECT_LE(p.ByteSizeLong(), kBudget);
    total += p.ByteSizeLong();
  }
  // The compact form: well under 20 bytes a worker (a WorkerInfo is ~70).
  EXPECT_LT(total, 10000u * 20) << "parts: " << split->parts.size();
  EXPECT_GT(split->parts.size(), 50u);
}

TEST(BeaconSplitTest, AssemblesInAnyOrderWithDuplicates) {
  Beacon b = BigBeacon(10000);
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok());
  std::vector<BeaconPart> parts = split->parts;
  parts.push_back(parts[3]);  // duplicated
  parts.push_back(parts[0]);
  std::mt19937 rng(1);
  std::shuffle(parts.begin(), parts.end(), rng);

  BeaconAssembler a;
  std::optional<Beacon> whole;
  size_t delivered = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i == parts.size() / 2) {
      EXPECT_FALSE(a.AddHeader(split->header).has_value());  // header in the middle
    }
    if (auto got = a.AddPart(parts[i])) {
      whole = std::move(got);
      ++delivered;
    }
  }
  EXPECT_EQ(delivered, 1u);
  ASSERT_TRUE(whole.has_value());
  ExpectSameDirectory(*whole, b);
  EXPECT_EQ(a.stats().duplicates, 2u);
  EXPECT_EQ(a.pending(), 0u);
}

TEST(BeaconSplitTest, MissingPartHoldsTheBeaconBackUntilItComes) {
  Beacon b = BigBeacon(2000);
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok());
  ASSERT_GT(split->parts.size(), 3u);
  BeaconAssembler a;
  EXPECT_FALSE(a.AddHeader(split->header).has_value());
  for (size_t i = 0; i < split->parts.size(); ++i) {
    if (i != 2) {
      EXPECT_FALSE(a.AddPart(split->parts[i]).has_value()) << i;
    }
  }
  auto whole = a.AddPart(split->parts[2]);  // the late part
  ASSERT_TRUE(whole.has_value());
  ExpectSameDirectory(*whole, b);
}

TEST(BeaconSplitTest, NewerCompleteBeaconAbandonsAnOlderIncompleteOne) {
  auto older = Split(BigBeacon(500, 7, 10), kBudget);
  auto newer = Split(BigBeacon(500, 7, 11), kBudget);
  ASSERT_TRUE(older.ok() && newer.ok());
  BeaconAssembler a;
  a.AddHeader(older->header);
  a.AddPart(older->parts[0]);  // the rest of seq 10 is lost
  a.AddHeader(newer->header);
  std::optional<Beacon> whole;
  for (auto& p : newer->parts) whole = a.AddPart(p);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->seq(), 11u);
  EXPECT_EQ(a.stats().abandoned, 1u);
  EXPECT_EQ(a.pending(), 0u);
}

TEST(BeaconSplitTest, PendingBeaconsAreBounded) {
  BeaconAssembler a(2);
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    Beacon h;
    h.set_epoch(1);
    h.set_seq(seq);
    h.set_parts(3);
    a.AddHeader(h);
  }
  EXPECT_EQ(a.pending(), 2u);
  EXPECT_EQ(a.stats().abandoned, 3u);
}

TEST(BeaconSplitTest, DisagreeingPartCountsAreInvalid) {
  auto split = Split(BigBeacon(300), kBudget);
  ASSERT_TRUE(split.ok());
  ASSERT_GT(split->parts.size(), 1u);
  BeaconAssembler a;
  a.AddHeader(split->header);
  BeaconPart bad = split->parts[0];
  bad.set_parts(bad.parts() + 1);
  EXPECT_FALSE(a.AddPart(bad).has_value());
  EXPECT_EQ(a.stats().invalid, 1u);
  BeaconPart out_of_range = split->parts[0];
  out_of_range.set_index(out_of_range.parts());
  EXPECT_FALSE(a.AddPart(out_of_range).has_value());
  EXPECT_EQ(a.stats().invalid, 2u);
  BeaconPart too_many;
  too_many.set_parts(kMaxBeaconParts + 1);
  EXPECT_FALSE(a.AddPart(too_many).has_value());
}

TEST(BeaconSplitTest, PartWithAStringItLacksIsRefused) {
  BeaconPart p;
  p.set_parts(1);
  p.add_strings("class0");
  auto* w = p.add_workers();
  w->set_worker_class(0);
  w->set_host(5);  // no such string
  Beacon b;
  EXPECT_FALSE(AppendPart(p, &b).ok());
}

TEST(BeaconSplitTest, UnusualIdsAndHostsSurvive) {
  Beacon b = BigBeacon(3);
  b.mutable_workers(0)->set_id("a hand-made id");
  b.mutable_workers(1)->set_host("10.9.9.9");  // process on another host than its address
  b.mutable_workers(2)->set_load(-1);          // never negative on the wire
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok());
  Beacon whole = split->header;
  for (auto& p : split->parts) ASSERT_TRUE(AppendPart(p, &whole).ok());
  EXPECT_EQ(whole.workers(0).id(), "a hand-made id");
  EXPECT_EQ(whole.workers(1).host(), "10.9.9.9");
  EXPECT_EQ(whole.workers(2).load(), 0);
}

TEST(BeaconSplitTest, EntryTooBigForAnyDatagramIsDroppedAndCounted) {
  Beacon b = BigBeacon(3);
  b.mutable_workers(1)->set_id(std::string(5000, 'x'));
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->dropped, 1u);
  Beacon whole = split->header;
  for (auto& p : split->parts) ASSERT_TRUE(AppendPart(p, &whole).ok());
  EXPECT_EQ(whole.workers_size(), 2);
}

TEST(BeaconSplitTest, HeaderThatCannotFitIsAnError) {
  Beacon b = BigBeacon(1);
  b.set_cluster(std::string(2000, 'c'));
  EXPECT_FALSE(Split(b, kBudget).ok());
}

TEST(BeaconSplitTest, EmptyDirectoryIsAHeaderAlone) {
  Beacon b = BigBeacon(0);
  b.clear_classes();
  b.clear_frontends();
  auto split = Split(b, kBudget);
  ASSERT_TRUE(split.ok());
  EXPECT_TRUE(split->parts.empty());
  BeaconAssembler a;
  auto whole = a.AddHeader(split->header);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->seq(), b.seq());
}

}  // namespace
}  // namespace tacc::wire
