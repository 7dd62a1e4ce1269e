#include "frontdoor/candidate_set.h"

#include <algorithm>

namespace tacc::frontdoor {

CandidateSet::Change CandidateSet::Update(std::span<const Candidate> candidates, std::vector<int32_t>* old_to_new) {
  Change change;
  // Fast path: the same back ends in the same order as last time.
  bool same = candidates.size() == member_of_.size();
  for (size_t i = 0; same && i < candidates.size(); ++i) same = members_[member_of_[i]].id == candidates[i].id;
  if (same) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      Member& m = members_[member_of_[i]];
      if (m.weight != candidates[i].weight) {
        m.weight = candidates[i].weight;
        change.weights = true;
      }
    }
    return change;
  }

  // Order (and maybe the set) changed: sort the candidates by id and compare.
  scratch_.resize(candidates.size());
  for (uint32_t i = 0; i < scratch_.size(); ++i) scratch_[i] = i;
  std::stable_sort(scratch_.begin(), scratch_.end(), [&](uint32_t a, uint32_t b) { return candidates[a].id < candidates[b].id; });
  change.ids = scratch_.size() != members_.size();
  for (size_t m = 0; !change.ids && m < scratch_.size(); ++m) change.ids = members_[m].id != candidates[scratch_[m]].id;

  if (change.ids && old_to_new) {
    // Merge the old and new sorted id lists.
    old_to_new->assign(members_.size(), -1);
    size_t n = 0;
    for (size_t o = 0; o < members_.size(); ++o) {
      while (n < scratch_.size() && candidates[scratch_[n]].id < members_[o].id) ++n;
      if (n < scratch_.size() && candidates[scratch_[n]].id == members_[o].id) (*old_to_new)[o] = static_cast<int32_t>(n++);
    }
  }

  members_.resize(scratch_.size());
  member_of_.resize(candidates.size());
  candidate_of_.resize(candidates.size());
  for (uint32_t m = 0; m < scratch_.size(); ++m) {
    const Candidate& c = candidates[scratch_[m]];
    if (change.ids) members_[m].id.assign(c.id);
    if (members_[m].weight != c.weight) {
      members_[m].weight = c.weight;
      if (!change.ids) change.weights = true;
    }
    candidate_of_[m] = scratch_[m];
    member_of_[scratch_[m]] = m;
  }
  return change;
}

}  // namespace tacc::frontdoor
