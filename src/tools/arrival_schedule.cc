#include "tools/arrival_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace tacc::tools {

namespace {
bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}
}  // namespace

Result<std::vector<RateStep>> ParseRateSteps(const std::string& text) {
  std::vector<RateStep> steps;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view item(text.data() + start, (comma == std::string::npos ? text.size() : comma) - start);
    RateStep s;
    auto at = item.find('@');
    if (!ParseDouble(item.substr(0, at), &s.rate) || s.rate < 0) {
      return Status::InvalidArgument(fmt::format("rate '{}' is not a number of requests per second >= 0", item));
    }
    if (at != std::string_view::npos) {
      std::string_view when = item.substr(at + 1);
      if (!when.empty() && when.back() == 's') when.remove_suffix(1);
      if (!ParseDouble(when, &s.at_s) || s.at_s < 0) return Status::InvalidArgument(fmt::format("step '{}': the time after @ is not seconds >= 0", item));
    } else if (!steps.empty()) {
      return Status::InvalidArgument(fmt::format("step '{}' needs a start time (rate@seconds)", item));
    }
    steps.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::stable_sort(steps.begin(), steps.end(), [](const RateStep& a, const RateStep& b) { return a.at_s < b.at_s; });
  if (steps.empty()) return Status::InvalidArgument("no rate");
  steps.front().at_s = 0;
  return steps;
}

ArrivalSchedule::ArrivalSchedule(std::vector<RateStep> steps, bool poisson, uint64_t seed)
    : steps_(std::move(steps)), poisson_(poisson), rng_(seed) {
  if (steps_.empty()) steps_.push_back({0, 0});
}

double ArrivalSchedule::RateAt(double t_s) const {
  double r = steps_.front().rate;
  for (const auto& s : steps_) {
    if (s.at_s <= t_s) r = s.rate;
  }
  return r;
}

double ArrivalSchedule::Next() {
  // Work to do before the next arrival: 1 (even spacing) or Exp(1) (Poisson), consumed
  // at the rate in force, segment by segment.
  double need = poisson_ ? std::exponential_distribution<double>(1.0)(rng_) : 1.0;
  double t = t_;
  for (;;) {
    double rate = RateAt(t);
    double boundary = kNever;
    for (const auto& s : steps_) {
      if (s.at_s > t) {
        boundary = s.at_s;
        break;
      }
    }
    if (rate > 0 && t + need / rate <= boundary) {
      t_ = t + need / rate;
      return t_;
    }
    if (boundary == kNever) return kNever;
    need -= (boundary - t) * rate;
    t = boundary;
  }
}

void ArrivalSchedule::SetRate(double now_s, double rate) {
  std::vector<RateStep> kept;
  for (const auto& s : steps_) {
    if (s.at_s <= now_s) kept.push_back(s);
  }
  kept.push_back({now_s, rate});
  steps_ = std::move(kept);
  t_ = now_s;
}

}  // namespace tacc::tools
