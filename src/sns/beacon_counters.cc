#include "sns/beacon_counters.h"

#include <spdlog/spdlog.h>

namespace tacc::sns {

BeaconCounters& BeaconStats() {
  static BeaconCounters c;
  return c;
}

void RefusalLog::Note(const std::string& what, const std::string& who) {
  std::lock_guard lock(mu_);
  auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < every_) {
    ++suppressed_;
    return;
  }
  if (suppressed_ > 0)
    spdlog::warn("refused {} from {} (and {} more like it in the last {} s)", what, who, suppressed_, every_.count());
  else
    spdlog::warn("refused {} from {}", what, who);
  last_ = now;
  suppressed_ = 0;
}

}  // namespace tacc::sns
