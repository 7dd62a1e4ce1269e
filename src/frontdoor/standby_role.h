// StandbyRole: which of a hot-standby pair of dispatchers holds the cluster address.
//
// Each dispatcher of a pair heartbeats the other every frontdoor.heartbeat_ms (sealed
// with the cluster key: StandbyLink). This is the decision alone, with time passed in:
//   - a dispatcher starts as standby and becomes active when it has heard no heartbeat
//     for frontdoor.takeover_misses periods (Magicrouter: 3), or at once when the peer
//     says it is standby and has the lower priority (ties: the lower incarnation, i.e.
//     the one started first, wins... then the lower address string);
//   - an active dispatcher that hears an active peer of higher rank yields (after a
//     partition heals, exactly one stays active);
//   - an active dispatcher never yields to a standby peer (no flapping when a restarted
//     peer of higher priority comes back: it waits as standby; an operator who wants it
//     back moves it by restarting the active one).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tacc::frontdoor {

class StandbyRole {
 public:
  using Clock = std::chrono::steady_clock;
  struct Rank {
    int priority = 100;
    uint64_t incarnation = 0;  // start time in ms: earlier started wins a tie
    std::string name;          // last tie-break (the heartbeat address)
    bool Outranks(const Rank& other) const;
  };

  StandbyRole(Rank self, std::chrono::milliseconds heartbeat, int takeover_misses, Clock::time_point now);

  // A heartbeat from the peer.
  void OnHeartbeat(const Rank& peer, bool peer_active, Clock::time_point now);
  // Re-evaluates at `now`; returns true if the role changed.
  bool Tick(Clock::time_point now);

  bool active() const { return active_; }
  bool peer_heard() const { return heard_; }
  // Why the role last changed, for the log.
  const std::string& reason() const { return reason_; }

 private:
  bool Become(bool active, std::string why);

  Rank self_;
  std::chrono::milliseconds heartbeat_;
  int misses_;
  Clock::time_point started_;
  Clock::time_point last_heard_{};
  bool heard_ = false;
  Rank peer_;
  bool peer_active_ = false;
  bool active_ = false;
  std::string reason_;
};

}  // namespace tacc::frontdoor
