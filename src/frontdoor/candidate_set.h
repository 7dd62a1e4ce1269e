// CandidateSet: the back ends a policy saw at its last choice, in id order, so that the
// policy can keep per-back-end state in a vector (a weight counter, an id hash, a ring of
// virtual nodes) and rebuild it only when the set changes. Candidates come in whatever
// order the dispatcher keeps them; members are sorted by id, so state built from them does
// not depend on that order. When the candidates are the same as last time (the common
// case) Update compares them and allocates nothing.
//
// Thread safety: none (part of one policy).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class CandidateSet {
 public:
  struct Member {
    std::string id;
    double weight = 1.0;
  };
  struct Change {
    bool ids = false;      // a back end joined or left (the first non-empty Update too)
    bool weights = false;  // same ids, some weight differs
  };

  // Takes `candidates` as the current set and says what changed since the last call.
  // When ids changed and `old_to_new` is given, it receives, for each member before the
  // call, its index now (-1: it left).
  Change Update(std::span<const Candidate> candidates, std::vector<int32_t>* old_to_new = nullptr);

  size_t size() const { return members_.size(); }
  const Member& member(size_t m) const { return members_[m]; }
  const std::vector<Member>& members() const { return members_; }
  // Mapping between the last Update's candidates and the members.
  uint32_t MemberOf(size_t candidate) const { return member_of_[candidate]; }
  uint32_t CandidateOf(size_t member) const { return candidate_of_[member]; }

 private:
  std::vector<Member> members_;  // sorted by id
  std::vector<uint32_t> member_of_;
  std::vector<uint32_t> candidate_of_;
  std::vector<uint32_t> scratch_;
};

}  // namespace tacc::frontdoor
