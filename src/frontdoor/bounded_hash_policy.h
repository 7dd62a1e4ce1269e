// BoundedHashPolicy: consistent hashing with bounded loads (Mirrokni, Thorup &
// Zadimoghaddam, SODA'18; as in HAProxy's hash-balance-factor), frontdoor.policy =
// bounded_hash. A key (the request target in l7; the client address in the L4 modes) goes
// to the first back end clockwise from the key's point on a ring whose load is below its
// capacity:
//   capacity(b) = ceil((1 + epsilon) x (sum of active + 1) x weight(b) / sum of weights)
// so keys keep their back end (and its cache) as consistent hashing would, yet no back end
// carries more than (1 + epsilon) times its share; a key whose back end is full goes on
// round the ring, so it has a stable second choice. epsilon = frontdoor.chash_epsilon.
//
// The ring holds round(kVnodesPerWeight x weight / mean weight) points (at least one) per
// back end at StableHash("id#i"), so every dispatcher builds the same ring; it is rebuilt
// only when the back ends' ids or weights change. Load = Candidate::active.
// Thread safety: none.
#pragma once

#include <cstdint>
#include <vector>

#include "frontdoor/candidate_set.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class BoundedHashPolicy final : public PickPolicy {
 public:
  static constexpr int kVnodesPerWeight = 100;

  explicit BoundedHashPolicy(double epsilon);

  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) override;
  std::string_view name() const override { return "bounded_hash"; }

  // The most a back end of `weight` may carry for the next key (the bound above).
  static int64_t Capacity(double epsilon, int64_t total_active, double weight, double total_weight);
  size_t ring_builds() const { return ring_builds_; }  // for tests: rebuilt only on change

 private:
  void Rebuild();

  double epsilon_;
  CandidateSet set_;
  std::vector<uint64_t> ring_points_;   // sorted
  std::vector<uint32_t> ring_members_;  // the member of set_ at each point
  double total_weight_ = 0;
  size_t ring_builds_ = 0;
};

}  // namespace tacc::frontdoor
