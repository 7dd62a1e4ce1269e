// ArrivalSchedule: when the open-loop requests of `tacc play --rate` go out.
//
// The rate is piecewise constant: a starting rate, then steps ("from second 30, 200/s"),
// and it can be changed while the run goes (SetRate, from the live `rate N` command).
// Arrivals are a Poisson process at that rate (exponential gaps) or evenly spaced; a
// change of rate takes effect at once, in the middle of a gap. Times are seconds from the
// start of the run, so the schedule runs on any clock (tests drive it with made-up
// times). Deterministic from its seed. Not thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"

namespace tacc::tools {

struct RateStep {
  double at_s = 0;  // from this time on...
  double rate = 0;  // ...this many arrivals per second (0: none)
};

// "100" or "100,200@30,400@60" (rate@start second): the steps, sorted; the first starts at 0.
Result<std::vector<RateStep>> ParseRateSteps(const std::string& text);

class ArrivalSchedule {
 public:
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  ArrivalSchedule(std::vector<RateStep> steps, bool poisson, uint64_t seed);
  // The time of the next arrival (non-decreasing); kNever if the rate stays 0 for good.
  double Next();
  // From `now_s` on, `rate` per second (dropping the steps still to come); the next
  // arrival is drawn afresh from `now_s`.
  void SetRate(double now_s, double rate);
  double RateAt(double t_s) const;

 private:
  std::vector<RateStep> steps_;
  bool poisson_;
  std::mt19937_64 rng_;
  double t_ = 0;  // the last arrival (or the time of the last change)
};

}  // namespace tacc::tools
