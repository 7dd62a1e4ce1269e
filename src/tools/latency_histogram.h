// LatencyHistogram: request latencies in log-spaced buckets (Boost.Histogram), so that
// millions of samples cost a fixed few kilobytes and any quantile is read back to within
// half a bucket's width (about 1.2% with the default 100 buckets per decade).
//
// `tacc play` keeps one for the whole run and a coarser one per second (the time
// series); histograms of the same shape add up (Merge), e.g. over threads.
// Not thread-safe: one per thread, merged at the end.
#pragma once

#include <boost/histogram.hpp>

#include <cstdint>
#include <vector>

namespace tacc::tools {

class LatencyHistogram {
 public:
  // Buckets from `min_us` to `max_us`, `per_decade` of them in each factor of ten;
  // samples below or above land in the under/overflow buckets and are still counted
  // (a quantile that falls there reads as the bound).
  explicit LatencyHistogram(int per_decade = 100, double min_us = 1, double max_us = 1e9);

  void Add(double us);
  void Merge(const LatencyHistogram& other);  // same shape only
  void Clear();

  uint64_t count() const { return count_; }
  double sum_us() const { return sum_us_; }
  double mean_us() const { return count_ ? sum_us_ / static_cast<double>(count_) : 0; }
  double min_us() const { return count_ ? min_seen_ : 0; }
  double max_us() const { return count_ ? max_seen_ : 0; }
  // The q-quantile (0 <= q <= 1), interpolated (geometrically) inside its bucket and
  // clamped to the smallest and largest samples seen; 0 when empty.
  double Quantile(double q) const;
  // Several at once (q ascending), one pass over the buckets.
  std::vector<double> Quantiles(const std::vector<double>& qs) const;

 private:
  using Axis = boost::histogram::axis::regular<double, boost::histogram::axis::transform::log>;
  using Hist = boost::histogram::histogram<std::tuple<Axis>, boost::histogram::unlimited_storage<>>;

  Hist hist_;
  uint64_t count_ = 0;
  double sum_us_ = 0;
  double min_seen_ = 0;
  double max_seen_ = 0;
};

}  // namespace tacc::tools
