// Trace synthesis (src/tools/trace_synth.h, size_model.h, burst_model.h, zipf.h): the
// paper's MIME mix and mean sizes come out, error pages form their spike, popularity is
// Zipf-like, the daily cycle and the bursts are there, and the same seed gives the same trace.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>

#include "tools/burst_model.h"
#include "tools/trace_stats.h"
#include "tools/trace_synth.h"
#include "tools/zipf.h"

namespace tacc::tools {
namespace {

Trace Synthesize(const SynthOptions& o) {
  ObjectCatalog catalog(o);
  Trace t;
  std::map<uint64_t, uint32_t> users;
  SynthesizeTrace(o, catalog, [&](int64_t t_us, uint64_t u, const SynthObject& ob) {
    auto [it, fresh] = users.emplace(u, static_cast<uint32_t>(t.users.size()));
    if (fresh) t.users.push_back("u" + std::to_string(u));
    TraceRecord r;
    r.t_us = t_us;
    r.user = it->second;
    r.url = ob.url;
    r.status = ob.status;
    r.bytes = ob.bytes;
    r.type = ob.type;
    t.records.push_back(std::move(r));
  });
  return t;
}

TEST(TraceSynthTest, MimeMixAndMeanSizesAreThePapers) {
  SynthOptions o;
  o.requests = 300000;
  Trace t = Synthesize(o);
  ASSERT_EQ(t.records.size(), 300000u);
  TraceStats s = ComputeTraceStats(t);
  auto share = [&](const char* c) { return static_cast<double>(s.by_extension[c].requests) / 300000.0; };
  EXPECT_NEAR(share("gif"), 0.50, 0.01);
  EXPECT_NEAR(share("html"), 0.22, 0.01);
  EXPECT_NEAR(share("jpeg"), 0.18, 0.01);
  EXPECT_NEAR(share("other"), 0.10, 0.01);
  auto mean = [&](const char* c) { return s.by_extension[c].bytes / static_cast<double>(s.by_extension[c].sized); };
  EXPECT_NEAR(mean("gif"), 3428, 3428 * 0.04);
  EXPECT_NEAR(mean("html"), 5131, 5131 * 0.04);
  EXPECT_NEAR(mean("jpeg"), 12070, 12070 * 0.04);
  // Heavy tails: the largest are many times the mean, and most requests are small (Figure 5).
  EXPECT_GT(s.by_extension["jpeg"].sizes.Quantile(0.999), 8 * 12070);
  EXPECT_LT(s.by_extension["gif"].sizes.Quantile(0.5), 1500);
}

TEST(TraceSynthTest, GifsHaveTwoPlateausAndErrorPagesMakeASmallSpike) {
  SynthOptions o;
  o.objects = 50000;
  ObjectCatalog c(o);
  uint64_t gifs = 0, small = 0, errors = 0, images = 0;
  for (uint64_t i = 0; i < c.size(); ++i) {
    const auto& ob = c.at(i);
    if (ob.cls == ContentClass::kGif) {
      ++gifs;
      if (ob.bytes < 1024) ++small;
    }
    if (ob.cls == ContentClass::kGif || ob.cls == ContentClass::kJpeg || ob.cls == ContentClass::kError) ++images;
    if (ob.cls == ContentClass::kError) {
      ++errors;
      EXPECT_EQ(ob.status, 404);
      EXPECT_EQ(ob.type, "text/html");
      EXPECT_TRUE(ob.url.ends_with(".gif") || ob.url.ends_with(".jpg")) << ob.url;
      EXPECT_GE(ob.bytes, 200);
      EXPECT_LE(ob.bytes, 700);
    }
  }
  // Icons and bullets under 1 KB, pictures above: both plateaus hold a good share.
  EXPECT_GT(static_cast<double>(small) / static_cast<double>(gifs), 0.3);
  EXPECT_LT(static_cast<double>(small) / static_cast<double>(gifs), 0.6);
  EXPECT_NEAR(static_cast<double>(errors) / static_cast<double>(images), 0.03, 0.005);
}

TEST(TraceSynthTest, PopularityIsZipfLike) {
  SynthOptions o;
  o.requests = 200000;
  o.objects = 20000;
  o.object_zipf = 0.8;
  Trace t = Synthesize(o);
  std::map<std::string, uint64_t> hits;
  for (const auto& r : t.records) ++hits[r.url];
  std::vector<uint64_t> counts;
  for (const auto& [u, n] : hits) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  // log(count) against log(rank) has slope -s between ranks 10 and 1000.
  double slope = (std::log(static_cast<double>(counts[999])) - std::log(static_cast<double>(counts[9]))) / (std::log(1000.0) - std::log(10.0));
  EXPECT_NEAR(slope, -0.8, 0.1);
  // Users too: the busiest user sends far more than the median one.
  std::vector<uint64_t> per_user(t.users.size());
  for (const auto& r : t.records) ++per_user[r.user];
  std::sort(per_user.rbegin(), per_user.rend());
  EXPECT_GT(per_user[0], 50 * per_user[per_user.size() / 2]);
}

TEST(TraceSynthTest, DailyCycleAndBurstsAtEveryScale) {
  BurstShape shape;  // 24 h, peak at 22:00, amplitude 0.6
  BurstModel m(shape, 9);
  const auto& w = m.weights();
  ASSERT_EQ(w.size(), 86400u);
  auto hour = [&](int h) { return std::accumulate(w.begin() + h * 3600, w.begin() + (h + 1) * 3600, 0.0); };
  EXPECT_GT(hour(21) + hour(22), 2.5 * (hour(9) + hour(10)));  // evening peak over morning trough
  // Bursty at every scale: per-bucket counts vary far more than a Poisson process's.
  std::mt19937_64 rng(1);
  auto counts = m.Counts(2000000, rng);
  EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), uint64_t{0}), 2000000u);
  for (int bucket : {1, 60, 600}) {
    // Within the two busiest hours (22:00-24:00), where the daily cycle is nearly flat.
    std::vector<double> b;
    for (int s = 21 * 3600; s + bucket <= 23 * 3600; s += bucket) b.push_back(std::accumulate(counts.begin() + s, counts.begin() + s + bucket, 0.0));
    double mean = std::accumulate(b.begin(), b.end(), 0.0) / static_cast<double>(b.size());
    double var = 0;
    for (double x : b) var += (x - mean) * (x - mean);
    var /= static_cast<double>(b.size());
    EXPECT_GT(var, 3 * mean) << "bucket " << bucket << " s: as smooth as Poisson";  // Poisson: var == mean
  }
}

TEST(TraceSynthTest, TheSameSeedGivesTheSameTrace) {
  SynthOptions o;
  o.requests = 20000;
  o.objects = 5000;
  Trace a = Synthesize(o), b = Synthesize(o);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    ASSERT_EQ(a.records[i].t_us, b.records[i].t_us);
    ASSERT_EQ(a.records[i].url, b.records[i].url);
    ASSERT_EQ(a.records[i].bytes, b.records[i].bytes);
  }
  o.seed = 2;
  Trace c = Synthesize(o);
  size_t same = 0;
  for (size_t i = 0; i < std::min(a.records.size(), c.records.size()); ++i) same += a.records[i].url == c.records[i].url;
  EXPECT_LT(same, a.records.size() / 10);
  EXPECT_TRUE(std::is_sorted(a.records.begin(), a.records.end(), [](const auto& x, const auto& y) { return x.t_us < y.t_us; }));
}

TEST(TraceSynthTest, ZipfSamplerSharesFollowTheLaw) {
  ZipfSampler z(1000, 1.0);
  EXPECT_NEAR(z.Share(0) / z.Share(9), 10.0, 1e-9);
  std::mt19937_64 rng(4);
  std::vector<int> n(1000);
  for (int i = 0; i < 200000; ++i) ++n[z.Draw(rng)];
  EXPECT_NEAR(n[0] / 200000.0, z.Share(0), 0.005);
}

}  // namespace
}  // namespace tacc::tools
