// BackendTable: the dispatcher's back ends and what it knows of each (soft state).
//
// Back ends come from two sources (frontdoor.backends, and the front ends the manager's
// beacons list when frontdoor.from_beacons is on); a back end stays while either names
// it. Health moves by counts: health_fall failures in a row (an active check, or a
// passive one: a refused, reset or timed-out forwarded connection) take it out of
// rotation into "testing"; health_rise passes in a row readmit it. The table keeps the
// dispatcher's own count of open connections/requests per back end and a moving average
// of connect or first-byte times, which the policies read as Candidates.
//
// Whoever programs a kernel data path (nat, dsr) subscribes with OnRotationChange and
// rebuilds its slot table from Rotation() when the set in rotation changes.
//
// Thread safety: none; the table lives on the dispatcher's event-loop thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "frontdoor/backend.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

struct BackendState {
  Backend backend;
  int64_t active = 0;        // open through this dispatcher now
  double response_ms = -1;   // moving average; < 0 unknown
  int fails_in_row = 0;
  int passes_in_row = 0;
  uint64_t forwarded = 0;    // connections (L4) or requests (l7) sent to it, ever
  uint64_t failures = 0;     // active and passive, ever
};

class BackendTable {
 public:
  BackendTable(int health_rise, int health_fall) : rise_(health_rise), fall_(health_fall) {}

  // Replaces the back ends of one source; those no source names any more are removed.
  void SetFrom(BackendSource source, std::span<const BackendSpec> specs);
  // Loads the beacons give for beacon-sourced back ends, by id.
  void SetLoad(const std::string& id, double load);

  BackendState* Find(const std::string& id);
  const std::map<std::string, BackendState>& all() const { return backends_; }

  // Health events. Each returns true if the back end changed state.
  bool ReportFailure(const std::string& id);
  bool ReportSuccess(const std::string& id);

  // The dispatcher's own accounting around one forwarded connection or request.
  void Opened(const std::string& id);
  void Closed(const std::string& id);
  void ObserveResponse(const std::string& id, double ms);

  // Back ends in rotation, as policy candidates (ids point into this table; valid until
  // the next change of the set or of any count: take them just before a Pick).
  std::span<const Candidate> Candidates();
  // Ids and weights in rotation, in id order (what slot tables are built from).
  std::vector<const BackendState*> Rotation() const;

  // Called after any change of the set in rotation (add, remove, health change).
  void OnRotationChange(std::function<void()> cb) { on_change_ = std::move(cb); }
  uint64_t generation() const { return generation_; }

 private:
  void Changed();

  const int rise_, fall_;
  std::map<std::string, BackendState> backends_;
  std::vector<Candidate> candidates_;
  std::function<void()> on_change_;
  uint64_t generation_ = 0;
};

}  // namespace tacc::frontdoor
