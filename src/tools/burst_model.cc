#include "tools/burst_model.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tacc::tools {

BurstModel::BurstModel(BurstShape shape, uint64_t seed) {
  size_t seconds = std::max<size_t>(1, static_cast<size_t>(std::ceil(shape.duration_s)));
  size_t leaves = 1;
  while (leaves < seconds) leaves *= 2;
  // The cascade over `leaves` slots, breadth first.
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(0.5);
  std::vector<double> mass{1.0};
  while (mass.size() < leaves) {
    std::vector<double> next(mass.size() * 2);
    for (size_t i = 0; i < mass.size(); ++i) {
      double left = coin(rng) ? shape.b : 1 - shape.b;
      next[2 * i] = mass[i] * left;
      next[2 * i + 1] = mass[i] * (1 - left);
    }
    mass.swap(next);
  }
  weights_.resize(seconds);
  double sum = 0;
  for (size_t s = 0; s < seconds; ++s) {
    double hour = shape.start_hour + static_cast<double>(s) / 3600.0;
    double day = 1 + shape.daily_amplitude * std::cos(2 * std::numbers::pi * (hour - shape.peak_hour) / 24.0);
    weights_[s] = mass[s] * std::max(0.0, day);
    sum += weights_[s];
  }
  for (auto& w : weights_) w /= sum;
}

std::vector<uint32_t> BurstModel::Counts(uint64_t n, std::mt19937_64& rng) const {
  // Multinomial by conditional binomials, second by second: exact total, O(seconds).
  std::vector<uint32_t> counts(weights_.size());
  uint64_t left = n;
  double mass_left = 1.0;
  for (size_t s = 0; s < weights_.size() && left > 0; ++s) {
    if (s + 1 == weights_.size() || mass_left <= 0) {
      counts[s] = static_cast<uint32_t>(left);
      break;
    }
    double p = std::clamp(weights_[s] / mass_left, 0.0, 1.0);
    uint64_t k = std::binomial_distribution<uint64_t>(left, p)(rng);
    counts[s] = static_cast<uint32_t>(k);
    left -= k;
    mass_left -= weights_[s];
  }
  return counts;
}

}  // namespace tacc::tools
