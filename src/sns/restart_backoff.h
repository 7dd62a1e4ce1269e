// RestartBackoff: how soon, and whether, to restart something that keeps crashing.
//
// The manager keeps one per worker class (and one per front-end index). Each crash is
// recorded; the delay before the next restart doubles with every crash inside the
// window (min .. max), and past `max_crashes` in the window restarts are suspended
// until old crashes age out, so a crash loop never becomes a spawn storm.
// Pure logic over explicit time points: unit-tested with fake time.
#pragma once

#include <chrono>
#include <deque>

namespace tacc::sns {

class RestartBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  RestartBackoff(Clock::duration min_delay, Clock::duration max_delay, Clock::duration window, int max_crashes);

  void RecordCrash(Clock::time_point now);
  int CrashesInWindow(Clock::time_point now) const;
  // More than max_crashes in the window.
  bool Suspended(Clock::time_point now) const;
  // Delay before restarting after the latest crash.
  Clock::duration Delay(Clock::time_point now) const;
  uint64_t total_crashes() const { return total_; }

 private:
  void Expire(Clock::time_point now) const;
  Clock::duration min_, max_, window_;
  int max_crashes_;
  mutable std::deque<Clock::time_point> crashes_;
  uint64_t total_ = 0;
};

}  // namespace tacc::sns
