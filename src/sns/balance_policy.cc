#include "sns/balance_policy.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tacc::sns {

namespace {

// A load that is not a finite number counts as very busy (never picked over a sane one).
double Sane(double load) { return std::isfinite(load) ? std::max(0.0, load) : 1e12; }

class LotteryPolicy : public BalancePolicy {
 public:
  explicit LotteryPolicy(uint64_t seed) : rng_(seed) {}
  size_t Pick(std::span<const double> loads) override {
    double total = 0;
    tickets_.resize(loads.size());
    for (size_t i = 0; i < loads.size(); ++i) total += tickets_[i] = 1.0 / (1.0 + Sane(loads[i]));
    double draw = std::uniform_real_distribution<double>(0, total)(rng_);
    for (size_t i = 0; i < loads.size(); ++i) {
      draw -= tickets_[i];
      if (draw <= 0) return i;
    }
    return loads.size() - 1;
  }

 private:
  std::mt19937_64 rng_;
  std::vector<double> tickets_;
};

class RandomPolicy : public BalancePolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  size_t Pick(std::span<const double> loads) override {
    return std::uniform_int_distribution<size_t>(0, loads.size() - 1)(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

class LeastLoadedPolicy : public BalancePolicy {
 public:
  explicit LeastLoadedPolicy(uint64_t seed) : rng_(seed) {}
  size_t Pick(std::span<const double> loads) override {
    double best = Sane(loads[0]);
    for (double l : loads) best = std::min(best, Sane(l));
    std::vector<size_t> ties;
    for (size_t i = 0; i < loads.size(); ++i)
      if (Sane(loads[i]) <= best) ties.push_back(i);
    return ties[std::uniform_int_distribution<size_t>(0, ties.size() - 1)(rng_)];
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<BalancePolicy> MakeBalancePolicy(const std::string& name, uint64_t seed) {
  if (name == "random") return std::make_unique<RandomPolicy>(seed);
  if (name == "least_loaded") return std::make_unique<LeastLoadedPolicy>(seed);
  return std::make_unique<LotteryPolicy>(seed);
}

}  // namespace tacc::sns
