#include "sns/manager_follower.h"

namespace tacc::sns {

// At most this many epochs remembered (more only if that many managers beacon at once).
constexpr size_t kEpochsHeard = 8;

bool ManagerFollower::FollowedAlive(Clock::time_point now, bool connected) const {
  return followed_ != 0 && connected && now - last_heard_ < options_.silence;
}

ManagerFollower::Decision ManagerFollower::OnBeacon(const wire::Beacon& b, Clock::time_point now, bool connected) {
  Decision d;
  std::erase_if(heard_, [&](const auto& kv) { return now - kv.second > options_.active; });
  if (heard_.size() >= kEpochsHeard && !heard_.contains(b.epoch())) heard_.erase(heard_.begin());
  heard_[b.epoch()] = now;

  if (b.epoch() == followed_) {
    last_heard_ = now;
    d.use = true;
    d.register_ = !connected && !registering_;  // same manager, connection lost: reconnect
    return d;
  }
  if (FollowedAlive(now, connected) || registering_) return d;
  // Looking for a manager: the oldest one beaconing lately is the one that will win.
  if (b.epoch() == heard_.begin()->first) d.register_ = true;
  return d;
}

void ManagerFollower::RegistrationEnded(bool ok, uint64_t acked_epoch, Clock::time_point now) {
  registering_ = false;
  if (!ok || acked_epoch == 0) return;
  followed_ = acked_epoch;
  last_heard_ = now;
}

}  // namespace tacc::sns
