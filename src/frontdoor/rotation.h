// Rotation: round robin over back ends by id, the turn-taking that round_robin uses and
// that least_connections and LARD use to break ties. It remembers the id it chose last
// and next chooses the eligible candidate whose id follows it in id order (wrapping round
// to the smallest), so a back end joining or leaving neither restarts the rotation nor
// makes it skip or repeat anyone else. Thread safety: none (part of one policy).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class Rotation {
 public:
  // The next eligible candidate after the last one chosen (nullopt: none is eligible);
  // remembers it.
  template <typename Eligible>
  std::optional<size_t> Next(std::span<const Candidate> candidates, Eligible eligible) {
    std::optional<size_t> after, first;  // the smallest id after last_; the smallest id overall
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      if (!eligible(c)) continue;
      if (!first || c.id < candidates[*first].id) first = i;
      if (c.id > std::string_view(last_) && (!after || c.id < candidates[*after].id)) after = i;
    }
    std::optional<size_t> chosen = after ? after : first;
    if (chosen) last_.assign(candidates[*chosen].id);  // reuses last_'s buffer: ids are alike in length
    return chosen;
  }
  std::optional<size_t> Next(std::span<const Candidate> candidates) {
    return Next(candidates, [](const Candidate&) { return true; });
  }

 private:
  std::string last_;
};

// The candidate with the fewest open connections (or requests); ties take turns through
// `ties` (always taking the first of equals would send every new connection of an idle
// cluster to one back end). nullopt only when `candidates` is empty.
inline std::optional<size_t> LeastActive(std::span<const Candidate> candidates, Rotation& ties) {
  if (candidates.empty()) return std::nullopt;
  int64_t least = candidates[0].active;
  for (const Candidate& c : candidates) least = std::min(least, c.active);
  return ties.Next(candidates, [least](const Candidate& c) { return c.active == least; });
}

}  // namespace tacc::frontdoor
