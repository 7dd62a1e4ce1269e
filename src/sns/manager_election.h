// Which front end restarts a silent manager, and when (paper §3.1.3, docs/design.md
// "Which front end restarts the manager").
//
// Pure functions of the last beacon and the times involved, so ManagerLink's timing is
// unit-tested with a fake clock. The rule: a front end's rank is the position of its
// index among the front ends listed in the last beacon (its own index if it has heard
// none; after everyone listed if it is not listed). Rank r presumes the manager dead
// after (r + 1) x timeout of silence and then restarts it at most once per
// (r + 2) x timeout, so rank 0 acts first and rank r only if ranks below it are gone too.
#pragma once

#include <chrono>
#include <cstdint>

#include "wire/cluster.pb.h"

namespace tacc::sns {

// Rank of front end `index` given the last beacon it heard (nullptr: none).
int FrontendRank(const wire::Beacon* last, uint32_t index);

struct ElectionInput {
  using Clock = std::chrono::steady_clock;
  Clock::time_point now;
  Clock::time_point last_beacon;         // when the last beacon arrived
  Clock::time_point last_restart{};      // when this front end last restarted the manager
  std::chrono::milliseconds timeout{0};  // frontend.manager_timeout_ms
  int rank = 0;
  // The connection to a manager on this host broke at this time and its process is
  // gone: rank 0 need not wait for the beacons to stop (the others still wait for their
  // (rank + 1) x timeout of silence, in case rank 0's replacement is slow to start).
  bool connection_lost_and_process_gone = false;
  Clock::time_point connection_lost_at{};
};

// True if this front end should launch a manager now.
bool ShouldRestartManager(const ElectionInput& in);

}  // namespace tacc::sns
