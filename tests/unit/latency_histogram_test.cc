// LatencyHistogram (src/tools/latency_histogram.h): quantiles of known inputs read back
// to within a bucket, merging, the edges.
#include <gtest/gtest.h>

#include <random>

#include "tools/latency_histogram.h"

namespace tacc::tools {
namespace {

TEST(LatencyHistogramTest, QuantilesOfAUniformSpreadAreWithinABucket) {
  LatencyHistogram h;
  for (int us = 1; us <= 100000; ++us) h.Add(us);
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(h.mean_us(), 50000.5, 0.01);
  auto q = h.Quantiles({0.5, 0.9, 0.99, 0.999});
  // 100 buckets a decade: a bucket is 2.3% wide, interpolation inside it does better.
  EXPECT_NEAR(q[0], 50000, 50000 * 0.012);
  EXPECT_NEAR(q[1], 90000, 90000 * 0.012);
  EXPECT_NEAR(q[2], 99000, 99000 * 0.012);
  EXPECT_NEAR(q[3], 99900, 99900 * 0.012);
  EXPECT_EQ(h.min_us(), 1);
  EXPECT_EQ(h.max_us(), 100000);
}

TEST(LatencyHistogramTest, ATwoValueMixtureHasItsStepWhereItShouldBe) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.Add(200);      // 98% fast
  for (int i = 0; i < 20; ++i) h.Add(2000000);   // 2% at two seconds
  EXPECT_NEAR(h.Quantile(0.5), 200, 200 * 0.025);
  EXPECT_NEAR(h.Quantile(0.97), 200, 200 * 0.025);
  EXPECT_NEAR(h.Quantile(0.99), 2000000, 2000000 * 0.025);
  EXPECT_EQ(h.Quantile(1.0), 2000000);
  EXPECT_EQ(h.Quantile(0.0), 200);
}

TEST(LatencyHistogramTest, LogNormalSamplesMatchTheSortedTruth) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> d(std::log(3000.0), 1.2);
  std::vector<double> v;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    double x = d(rng);
    v.push_back(x);
    h.Add(x);
  }
  std::sort(v.begin(), v.end());
  for (double q : {0.1, 0.5, 0.9, 0.99}) {
    double truth = v[static_cast<size_t>(q * static_cast<double>(v.size()))];
    EXPECT_NEAR(h.Quantile(q), truth, truth * 0.015) << "q=" << q;
  }
}

TEST(LatencyHistogramTest, MergingIsLikeAddingEverythingToOne) {
  LatencyHistogram a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).Add(i * 10.0);
    all.Add(i * 10.0);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_DOUBLE_EQ(a.sum_us(), all.sum_us());
  for (double q : {0.25, 0.5, 0.75, 0.99}) EXPECT_DOUBLE_EQ(a.Quantile(q), all.Quantile(q));
  EXPECT_EQ(a.min_us(), 10);
  EXPECT_EQ(a.max_us(), 10000);
}

TEST(LatencyHistogramTest, OutOfRangeSamplesAreCountedAndReadAsTheBounds) {
  LatencyHistogram h(100, 10, 1000);
  h.Add(0);
  h.Add(5);
  h.Add(500);
  h.Add(1e7);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.Quantile(0.1), 0);
  EXPECT_EQ(h.Quantile(1.0), 1e7);
  LatencyHistogram empty;
  EXPECT_EQ(empty.Quantile(0.5), 0);
  EXPECT_EQ(empty.mean_us(), 0);
}

}  // namespace
}  // namespace tacc::tools
