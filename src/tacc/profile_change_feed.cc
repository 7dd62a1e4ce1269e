#include "tacc/profile_change_feed.h"

namespace tacc::tacc_layer {

ProfileChangeFeed& ProfileChangeFeed::Process() {
  static ProfileChangeFeed feed;
  return feed;
}

void ProfileChangeFeed::Published(const std::string& token, const void* writer) {
  std::lock_guard lock(mu_);
  uint64_t next = seq_.load(std::memory_order_relaxed) + 1;
  log_.push_back(Change{next, token, writer});
  if (log_.size() > kCapacity) log_.pop_front();
  seq_.store(next, std::memory_order_release);
}

bool ProfileChangeFeed::Since(uint64_t* seen, const void* reader, std::vector<std::string>* tokens) const {
  std::lock_guard lock(mu_);
  uint64_t newest = seq_.load(std::memory_order_relaxed);
  bool whole = log_.empty() ? *seen == newest : log_.front().seq <= *seen + 1;
  if (whole) {
    for (const auto& c : log_)
      if (c.seq > *seen && c.writer != reader) tokens->push_back(c.token);
  }
  *seen = newest;
  return whole;
}

}  // namespace tacc::tacc_layer
