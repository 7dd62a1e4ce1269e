// ZipfSampler: ranks 0..n-1 drawn with probability proportional to 1/(rank+1)^s, the
// popularity law of web objects (Breslau et al., s about 0.6-0.9) and of users, for
// `tacc trace synth`. A cumulative table and a binary search: n doubles of memory,
// O(log n) a draw. Not thread-safe (callers bring their own generator).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tacc::tools {

class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s) : cdf_(n) {
    double sum = 0;
    for (uint64_t i = 0; i < n; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
      cdf_[i] = sum;
    }
    for (auto& c : cdf_) c /= sum;
  }
  uint64_t Draw(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
    return std::min<uint64_t>(static_cast<uint64_t>(it - cdf_.begin()), cdf_.size() - 1);
  }
  // The share of draws that land on `rank`.
  double Share(uint64_t rank) const { return rank == 0 ? cdf_[0] : cdf_[rank] - cdf_[rank - 1]; }
  uint64_t size() const { return cdf_.size(); }

 private:
  std::vector<double> cdf_;
};

}  // namespace tacc::tools
