// BurstModel: how many requests fall in each second of a synthetic trace: a daily cycle
// (the SNS paper's Figure 6a: a strong 24-hour rhythm) multiplied by a b-model cascade
// (Wang et al.: mass split b : 1-b at every halving of the time scale, the side chosen
// at random), which gives bursts at every time scale (Figure 6b, 6c: 3.5 hours and 3.5
// minutes still show finer bursts). b = 0.5 is smooth, b near 0.7 very bursty.
// Deterministic from its seed. Pure once built.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace tacc::tools {

struct BurstShape {
  double duration_s = 86400;
  double daily_amplitude = 0.6;  // rate swings between (1-a) and (1+a) times its mean
  double peak_hour = 22;         // dial-up users peak late in the evening
  double start_hour = 0;         // wall-clock hour at which the trace begins
  double b = 0.56;               // b-model bias, 0.5..1
};

class BurstModel {
 public:
  BurstModel(BurstShape shape, uint64_t seed);
  // Weight of each second (sums to 1).
  const std::vector<double>& weights() const { return weights_; }
  // How many of `n` requests fall in each second: exactly n in all.
  std::vector<uint32_t> Counts(uint64_t n, std::mt19937_64& rng) const;

 private:
  std::vector<double> weights_;
};

}  // namespace tacc::tools
