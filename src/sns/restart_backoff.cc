#include "sns/restart_backoff.h"

#include <algorithm>

namespace tacc::sns {

RestartBackoff::RestartBackoff(Clock::duration min_delay, Clock::duration max_delay, Clock::duration window, int max_crashes)
    : min_(min_delay), max_(max_delay), window_(window), max_crashes_(max_crashes) {}

void RestartBackoff::Expire(Clock::time_point now) const {
  while (!crashes_.empty() && now - crashes_.front() > window_) crashes_.pop_front();
}

void RestartBackoff::RecordCrash(Clock::time_point now) {
  Expire(now);
  crashes_.push_back(now);
  ++total_;
}

int RestartBackoff::CrashesInWindow(Clock::time_point now) const {
  Expire(now);
  return static_cast<int>(crashes_.size());
}

bool RestartBackoff::Suspended(Clock::time_point now) const { return CrashesInWindow(now) > max_crashes_; }

RestartBackoff::Clock::duration RestartBackoff::Delay(Clock::time_point now) const {
  int n = CrashesInWindow(now);
  if (n <= 1) return min_;
  auto d = min_;
  for (int i = 1; i < n && d < max_; ++i) d *= 2;
  return std::min(d, max_);
}

}  // namespace tacc::sns
