#include "frontdoor/affinity_policy.h"

#include <utility>

namespace tacc::frontdoor {

namespace {
// Expired entries dropped per choice at most: more than one, so the sweep outruns the
// arrivals (each choice adds at most one entry), and few, so no choice waits long.
constexpr int kSweepPerPick = 8;
}  // namespace

AffinityPolicy::AffinityPolicy(std::unique_ptr<PickPolicy> inner, PolicyClock::duration timeout, uint64_t seed, size_t max_clients)
    : inner_(std::move(inner)),
      timeout_(timeout),
      name_(std::string(inner_->name()) + "+affinity"),
      clients_(max_clients, ClientKeyHash{seed}) {}

void AffinityPolicy::Sweep(PolicyClock::time_point now) {
  for (int i = 0; i < kSweepPerPick; ++i) {
    const auto* oldest = clients_.Oldest();
    if (!oldest || now - oldest->value.last_seen < timeout_) return;
    clients_.PopOldest();
  }
}

std::optional<size_t> AffinityPolicy::Pick(std::span<const Candidate> candidates, const PickContext& ctx) {
  if (candidates.empty()) return std::nullopt;
  Sweep(ctx.now);
  const ClientKey key = ClientKeyOf(ctx.client);
  Entry* entry = clients_.Touch(key);
  if (entry && ctx.now - entry->last_seen < timeout_) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].id != entry->id) continue;
      entry->last_seen = ctx.now;
      return i;
    }
  }
  // New, silent too long, or its back end is gone: the inner policy chooses.
  auto chosen = inner_->Pick(candidates, ctx);
  if (!chosen) return chosen;
  if (entry) {
    entry->id.assign(candidates[*chosen].id);
    entry->last_seen = ctx.now;
  } else {
    clients_.Put(key, Entry{std::string(candidates[*chosen].id), ctx.now});
  }
  return chosen;
}

}  // namespace tacc::frontdoor
