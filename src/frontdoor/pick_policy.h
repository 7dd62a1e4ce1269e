// PickPolicy: how the dispatcher chooses a back end for a new connection (L4 modes) or a
// request (l7), behind one interface (frontdoor.policy). The clustering survey's
// policies: round robin, random, least connections, weighted, fastest response, source
// hash, load-weighted from the beacons; the LARD papers' locality-aware request
// distribution; bounded-load consistent hashing. Client affinity (LocalDirector's
// sticky clients) wraps any of them (AffinityPolicy).
//
// A policy sees only back ends in rotation (healthy ones), as Candidates, and answers
// with an index into them. It may keep memory between choices keyed by back-end id
// (LARD's target -> back end map, a hash ring, affinity entries); a back end missing
// from `candidates` is simply not chosen, and its memory may be dropped.
//
// Kernel data paths (nat, dsr) cannot call a policy per packet: they choose from a slot
// table (MaglevTable) that the dispatcher rebuilds from the policy's weights whenever
// the back ends change; see frontdoor/maglev_table.h.
//
// Thread safety: none; a policy lives on one thread.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"

namespace tacc::frontdoor {

using PolicyClock = std::chrono::steady_clock;

// One back end in rotation, at the moment of a choice. Ids are distinct within one call.
// `active` counts a connection or request from the moment Pick() chose the back end (not
// from when its connect completes): the policies that balance by it (least_connections,
// lard, bounded_hash) would otherwise send a whole burst to one back end.
struct Candidate {
  std::string_view id;      // "host:port": stable identity across changes of the set
  double weight = 1.0;      // > 0 (frontdoor.backends' "*weight"; 1 for front ends)
  int64_t active = 0;       // connections (L4) or requests (l7) open through this dispatcher now
  double load = -1;         // the front end's own load from the beacons; < 0: unknown
  double response_ms = -1;  // moving average of connect (L4) or first-byte (l7) time; < 0: unknown
};

struct PickContext {
  boost::asio::ip::address client;
  uint16_t client_port = 0;
  std::string_view target;  // l7: what the request asks for ("host/path?query"); L4: empty
  PolicyClock::time_point now{};
};

class PickPolicy {
 public:
  virtual ~PickPolicy() = default;
  // The chosen back end: an index into `candidates`; nullopt only when `candidates` is
  // empty.
  virtual std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) = 0;
  // The connection or request that Pick() assigned to `id` has ended (policies that
  // count or time their own assignments use it; most ignore it).
  virtual void Done(std::string_view /*id*/) {}
  virtual std::string_view name() const = 0;
};

// The policy frontdoor.policy names (with its settings: lard_idle/overload,
// chash_epsilon), wrapped in AffinityPolicy when frontdoor.affinity is on. `seed` seeds
// the random ones and keys the hash tables of the ones that remember targets or clients
// (pass a random one in production; tests pass a fixed one). The hash-based choices
// (source_hash, bounded_hash's ring) do not depend on it: every dispatcher agrees.
// InvalidArgument, naming the setting, for an unknown policy or settings it cannot use
// (lard_idle >= lard_overload). PickContext::now is the policies' only clock
// (affinity's timeout), so tests fake time through it.
Result<std::unique_ptr<PickPolicy>> MakePickPolicy(const Config::Frontdoor& settings, uint64_t seed);

}  // namespace tacc::frontdoor
