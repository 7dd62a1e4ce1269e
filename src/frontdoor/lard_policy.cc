#include "frontdoor/lard_policy.h"

#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

LardPolicy::LardPolicy(int64_t t_low, int64_t t_high, uint64_t seed, size_t max_targets)
    : t_low_(t_low), t_high_(t_high), seed_(seed), servers_(max_targets) {}

std::optional<size_t> LardPolicy::Pick(std::span<const Candidate> candidates, const PickContext& ctx) {
  if (candidates.empty()) return std::nullopt;
  if (ctx.target.empty()) return LeastActive(candidates, ties_);

  const uint64_t key = StableHash(ctx.target, seed_);
  std::string* server = servers_.Touch(key);
  if (server) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].id != *server) continue;
      const int64_t load = candidates[i].active;
      bool idle_elsewhere = false;
      for (const Candidate& c : candidates) idle_elsewhere |= c.active < t_low_;
      if (!((load > t_high_ && idle_elsewhere) || load >= 2 * t_high_)) return i;
      break;  // overloaded: move the target
    }
  }
  // New, orphaned (its back end left rotation) or moving: the least loaded back end.
  auto chosen = LeastActive(candidates, ties_);
  if (server)
    server->assign(candidates[*chosen].id);
  else
    servers_.Put(key, std::string(candidates[*chosen].id));
  return chosen;
}

}  // namespace tacc::frontdoor
