// ThinkTime: how long a simulated user of `tacc play --users` waits between the end of
// one request and the start of the next (closed loop, SURGE-style: Barford and
// Crovella's user model, which the DPR paper's tables were measured with).
//
//   fixed:1s          always 1 s
//   exp:2s            exponential, mean 2 s
//   uniform:0.5s:2s   uniform between the two
//   pareto:1.4:1s     Pareto with shape 1.4 and scale (minimum) 1 s: SURGE's OFF times
//   lognormal:1s:0.8  log-normal with median 1 s and sigma 0.8
// Times take a unit: us, ms or s. Every draw is capped at `max` (heavy tails otherwise
// park a user for hours). Draws come from the caller's generator, so a run is
// deterministic from its seed.
#pragma once

#include <random>
#include <string>

#include "common/status.h"

namespace tacc::tools {

class ThinkTime {
 public:
  static Result<ThinkTime> Parse(const std::string& spec, double max_s = 60);
  double Draw(std::mt19937_64& rng) const;  // seconds
  double mean_s() const;                     // of the uncapped distribution (+inf if none)
  const std::string& spec() const { return spec_; }

 private:
  enum class Kind { kFixed, kExp, kUniform, kPareto, kLognormal };
  Kind kind_ = Kind::kFixed;
  double a_ = 0, b_ = 0;
  double max_s_ = 60;
  std::string spec_;
};

// "250ms", "2s", "1.5", "40us" -> seconds (a bare number is seconds); false if malformed.
bool ParseSeconds(std::string_view text, double* out);

}  // namespace tacc::tools
