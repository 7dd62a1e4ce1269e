// ManagerFollower: which manager a worker or front end follows, decided from beacons
// and registrations — the rule ManagerLink and WorkerStub share.
//
// A beacon is authentic and fresh (BeaconListener checked it) but is not proof that
// its manager is alive, nor that it is the one that will win if two briefly exist. So:
//   * A component follows the manager it last registered with (the registration's TCP
//     connection is authenticated, and its acknowledgement names the epoch). While that
//     connection is open and that manager's beacons keep coming (within `silence`),
//     beacons of any other epoch are ignored: a second manager, a replayed beacon, or a
//     newer manager that will step down anyway.
//   * Otherwise (no manager yet, connection lost, or the followed one silent) it
//     registers with a beaconing manager, preferring the oldest epoch heard within
//     `active` (older managers win: the younger steps down, see Manager). It switches
//     only when that registration succeeds, to the epoch the manager acknowledged.
//   * Beacons are "used" (a front end publishes their directory) only from the
//     followed epoch.
// Pure logic, times passed in: no I/O, no clock; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include "wire/cluster.pb.h"

namespace tacc::sns {

class ManagerFollower {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    Clock::duration silence = std::chrono::seconds(2);         // frontend.manager_timeout_ms
    Clock::duration active = std::chrono::milliseconds(1500);  // 3 beacon periods
  };
  struct Decision {
    bool use = false;        // the beacon is the followed manager's
    bool register_ = false;  // register with the beacon's manager now
  };

  explicit ManagerFollower(Options options) : options_(options) {}

  // A beacon (or header) heard at `now`; `connected`: the connection to the followed
  // manager is open.
  Decision OnBeacon(const wire::Beacon& beacon, Clock::time_point now, bool connected);
  // Call before starting the registration that OnBeacon asked for (or one of the
  // component's own, e.g. a worker's --manager), and when it ends.
  void RegistrationStarted() { registering_ = true; }
  // ok: the manager acknowledged with `acked_epoch`, which becomes the followed epoch.
  void RegistrationEnded(bool ok, uint64_t acked_epoch, Clock::time_point now);

  uint64_t epoch() const { return followed_; }
  bool registering() const { return registering_; }
  // Whether the followed manager counts as alive: connected and not silent.
  bool FollowedAlive(Clock::time_point now, bool connected) const;

 private:
  Options options_;
  uint64_t followed_ = 0;
  Clock::time_point last_heard_{};  // last beacon of the followed epoch
  bool registering_ = false;
  std::map<uint64_t, Clock::time_point> heard_;  // epochs heard lately, when
};

}  // namespace tacc::sns
