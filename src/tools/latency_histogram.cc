#include "tools/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace tacc::tools {

namespace bh = boost::histogram;

LatencyHistogram::LatencyHistogram(int per_decade, double min_us, double max_us)
    : hist_(bh::make_histogram_with(bh::unlimited_storage<>(),
                                    Axis(static_cast<unsigned>(std::max(1.0, std::round(per_decade * std::log10(max_us / min_us)))), min_us,
                                         max_us))) {}

void LatencyHistogram::Add(double us) {
  hist_(us);
  if (count_ == 0) {
    min_seen_ = max_seen_ = us;
  } else {
    min_seen_ = std::min(min_seen_, us);
    max_seen_ = std::max(max_seen_, us);
  }
  ++count_;
  sum_us_ += us;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  hist_ += other.hist_;
  if (count_ == 0) {
    min_seen_ = other.min_seen_;
    max_seen_ = other.max_seen_;
  } else {
    min_seen_ = std::min(min_seen_, other.min_seen_);
    max_seen_ = std::max(max_seen_, other.max_seen_);
  }
  count_ += other.count_;
  sum_us_ += other.sum_us_;
}

void LatencyHistogram::Clear() {
  hist_.reset();
  count_ = 0;
  sum_us_ = 0;
  min_seen_ = max_seen_ = 0;
}

double LatencyHistogram::Quantile(double q) const { return Quantiles({q})[0]; }

std::vector<double> LatencyHistogram::Quantiles(const std::vector<double>& qs) const {
  std::vector<double> out(qs.size(), 0.0);
  if (count_ == 0) return out;
  const auto& axis = hist_.axis();
  size_t k = 0;
  double seen = 0;
  // Buckets in order: underflow (-1), 0..size-1, overflow (size).
  for (int i = -1; i <= axis.size() && k < qs.size(); ++i) {
    double n = static_cast<double>(hist_.at(i));
    if (n == 0) continue;
    while (k < qs.size()) {
      double rank = std::clamp(qs[k], 0.0, 1.0) * static_cast<double>(count_);
      if (rank > seen + n && i < axis.size()) break;  // not in this bucket
      double v;
      if (i < 0) {
        v = min_seen_;
      } else if (i >= axis.size()) {
        v = max_seen_;
      } else {
        double lo = axis.bin(i).lower(), hi = axis.bin(i).upper();
        double frac = std::clamp((rank - seen) / n, 0.0, 1.0);
        v = lo * std::pow(hi / lo, frac);
      }
      out[k++] = std::clamp(v, min_seen_, max_seen_);
    }
    seen += n;
  }
  for (; k < qs.size(); ++k) out[k] = max_seen_;
  return out;
}

}  // namespace tacc::tools
