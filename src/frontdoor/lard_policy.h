// LardPolicy: locality-aware request distribution (Pai et al., ASPLOS'98, "basic LARD"),
// frontdoor.policy = lard, for l7. Each target is served by the back end that served it
// before, so that back end's cache holds it and the cluster's caches add up instead of
// each holding the same hot set. A target moves only when its back end is overloaded:
//   no back end yet, or it left rotation  -> the least loaded back end
//   load(server) > T_high and some back end < T_low, or load(server) >= 2 T_high
//                                          -> moves to the least loaded back end
// with load = requests open through this dispatcher (Candidate::active), T_low =
// frontdoor.lard_idle, T_high = frontdoor.lard_overload (the paper's 30 and 130).
//
// The target -> back end map holds at most `max_targets` targets, forgetting the least
// recently requested first (a forgotten target is placed afresh, as a new one). It keeps
// a keyed 64-bit hash of each target, not the target, so a long URL costs no more than a
// short one: roughly 120 bytes a target, ~120 MB at the default bound. (Two targets whose
// hashes collide share a back end: harmless, and the key is secret, so not steerable.)
//
// An empty target (the L4 modes) has no locality: least connections.
// Thread safety: none.
#pragma once

#include <cstdint>
#include <string>

#include "frontdoor/lru_map.h"
#include "frontdoor/pick_policy.h"
#include "frontdoor/rotation.h"

namespace tacc::frontdoor {

class LardPolicy final : public PickPolicy {
 public:
  static constexpr size_t kDefaultMaxTargets = 1'000'000;

  // t_low < t_high (connections); seed keys the target hash.
  LardPolicy(int64_t t_low, int64_t t_high, uint64_t seed, size_t max_targets = kDefaultMaxTargets);

  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) override;
  std::string_view name() const override { return "lard"; }

  size_t targets() const { return servers_.size(); }  // targets remembered now

 private:
  struct KeyHash {  // keys are already keyed SipHash values
    size_t operator()(uint64_t k) const { return k; }
  };

  int64_t t_low_;
  int64_t t_high_;
  uint64_t seed_;
  Rotation ties_;
  LruMap<uint64_t, std::string, KeyHash> servers_;  // target hash -> back-end id
};

}  // namespace tacc::frontdoor
