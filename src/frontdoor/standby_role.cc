#include "frontdoor/standby_role.h"

#include <fmt/format.h>

namespace tacc::frontdoor {

bool StandbyRole::Rank::Outranks(const Rank& other) const {
  if (priority != other.priority) return priority > other.priority;
  if (incarnation != other.incarnation) return incarnation < other.incarnation;
  return name < other.name;
}

StandbyRole::StandbyRole(Rank self, std::chrono::milliseconds heartbeat, int takeover_misses, Clock::time_point now)
    : self_(std::move(self)), heartbeat_(heartbeat), misses_(takeover_misses), started_(now) {}

void StandbyRole::OnHeartbeat(const Rank& peer, bool peer_active, Clock::time_point now) {
  heard_ = true;
  last_heard_ = now;
  peer_ = peer;
  peer_active_ = peer_active;
}

bool StandbyRole::Become(bool active, std::string why) {
  if (active == active_) return false;
  active_ = active;
  reason_ = std::move(why);
  return true;
}

bool StandbyRole::Tick(Clock::time_point now) {
  const auto silence = heartbeat_ * misses_;
  const bool peer_alive = heard_ && now - last_heard_ < silence;
  if (!peer_alive) {
    // Nobody heard since start, or the peer went silent.
    if (now - (heard_ ? last_heard_ : started_) >= silence)
      return Become(true, heard_ ? fmt::format("the peer missed {} heartbeats", misses_) : "no peer heard since start");
    return false;
  }
  if (active_) {
    if (peer_active_ && peer_.Outranks(self_)) return Become(false, "an active peer of higher rank");
    return false;
  }
  if (!peer_active_ && self_.Outranks(peer_)) return Become(true, "the peer is standby and of lower rank");
  return false;
}

}  // namespace tacc::frontdoor
