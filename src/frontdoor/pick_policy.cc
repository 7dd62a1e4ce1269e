// MakePickPolicy: frontdoor.policy's name -> the policy, with its settings; the one place
// a policy name is registered.
#include "frontdoor/pick_policy.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "frontdoor/affinity_policy.h"
#include "frontdoor/bounded_hash_policy.h"
#include "frontdoor/lard_policy.h"
#include "frontdoor/simple_policies.h"
#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

namespace {

using Settings = Config::Frontdoor;
using Made = Result<std::unique_ptr<PickPolicy>>;
using Factory = Made (*)(const Settings&, uint64_t seed);

struct Registration {
  std::string_view name;
  Factory make;
};

Made MakeLard(const Settings& s, uint64_t seed) {
  if (s.lard_idle >= s.lard_overload)
    return Status::InvalidArgument(
        fmt::format("frontdoor.lard_idle ({}) must be below frontdoor.lard_overload ({})", s.lard_idle, s.lard_overload));
  return std::unique_ptr<PickPolicy>(std::make_unique<LardPolicy>(s.lard_idle, s.lard_overload, seed));
}

Made MakeBoundedHash(const Settings& s, uint64_t) {
  if (!(std::isfinite(s.chash_epsilon) && s.chash_epsilon > 0))
    return Status::InvalidArgument(fmt::format("frontdoor.chash_epsilon ({}) must be a positive number", s.chash_epsilon));
  return std::unique_ptr<PickPolicy>(std::make_unique<BoundedHashPolicy>(s.chash_epsilon));
}

constexpr std::array<Registration, 9> kRegistry{{
    {"round_robin", [](const Settings&, uint64_t) -> Made { return MakeRoundRobinPolicy(); }},
    {"random", [](const Settings&, uint64_t seed) -> Made { return MakeRandomPolicy(seed); }},
    {"least_connections", [](const Settings&, uint64_t) -> Made { return MakeLeastConnectionsPolicy(); }},
    {"weighted", [](const Settings&, uint64_t) -> Made { return MakeWeightedPolicy(); }},
    {"fastest_response", [](const Settings&, uint64_t) -> Made { return MakeFastestResponsePolicy(); }},
    {"source_hash", [](const Settings&, uint64_t) -> Made { return MakeSourceHashPolicy(); }},
    {"load_weighted", [](const Settings&, uint64_t seed) -> Made { return MakeLoadWeightedPolicy(seed); }},
    {"lard", MakeLard},
    {"bounded_hash", MakeBoundedHash},
}};

}  // namespace

Result<std::unique_ptr<PickPolicy>> MakePickPolicy(const Config::Frontdoor& settings, uint64_t seed) {
  const Registration* found = nullptr;
  for (const Registration& r : kRegistry)
    if (r.name == settings.policy) found = &r;
  if (!found) {
    std::string known;
    for (const Registration& r : kRegistry) known += fmt::format("{}{}", known.empty() ? "" : ", ", r.name);
    return Status::InvalidArgument(fmt::format("frontdoor.policy: unknown policy '{}' (known: {})", settings.policy, known));
  }
  auto policy = found->make(settings, seed);
  if (!policy.ok() || !settings.affinity) return policy;
  if (settings.affinity_timeout_s < 1)
    return Status::InvalidArgument(fmt::format("frontdoor.affinity_timeout_s ({}) must be at least 1", settings.affinity_timeout_s));
  // The affinity table's hash key is derived from, not equal to, the inner policy's seed.
  return std::unique_ptr<PickPolicy>(std::make_unique<AffinityPolicy>(
      std::move(policy).value(), std::chrono::seconds(settings.affinity_timeout_s), Mix64(seed ^ 0x6166666e69747921ULL)));
}

}  // namespace tacc::frontdoor
