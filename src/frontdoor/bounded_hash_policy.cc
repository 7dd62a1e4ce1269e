#include "frontdoor/bounded_hash_policy.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <utility>

#include "frontdoor/client_key.h"
#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

namespace {
double SaneWeight(double w) { return std::isfinite(w) && w > 0 ? w : 0.0; }
}  // namespace

BoundedHashPolicy::BoundedHashPolicy(double epsilon) : epsilon_(std::isfinite(epsilon) && epsilon > 0 ? epsilon : 0.25) {}

int64_t BoundedHashPolicy::Capacity(double epsilon, int64_t total_active, double weight, double total_weight) {
  if (!(total_weight > 0)) return 0;
  return static_cast<int64_t>(std::ceil((1.0 + epsilon) * static_cast<double>(total_active + 1) * SaneWeight(weight) / total_weight));
}

void BoundedHashPolicy::Rebuild() {
  ++ring_builds_;
  total_weight_ = 0;
  for (const auto& m : set_.members()) total_weight_ += SaneWeight(m.weight);
  const double mean = set_.size() > 0 ? total_weight_ / static_cast<double>(set_.size()) : 0;
  std::vector<std::pair<uint64_t, uint32_t>> points;
  points.reserve(set_.size() * kVnodesPerWeight);
  std::string label;
  for (uint32_t m = 0; m < set_.size(); ++m) {
    const auto& member = set_.member(m);
    const double share = mean > 0 ? SaneWeight(member.weight) / mean : 1.0;
    const long vnodes = std::max(1L, std::lround(kVnodesPerWeight * share));
    for (long i = 0; i < vnodes; ++i) {
      label.assign(member.id).push_back('#');
      char digits[24];
      auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
      label.append(digits, end);
      points.emplace_back(StableHash(label), m);
    }
  }
  std::sort(points.begin(), points.end());
  ring_points_.resize(points.size());
  ring_members_.resize(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    ring_points_[i] = points[i].first;
    ring_members_[i] = points[i].second;
  }
}

std::optional<size_t> BoundedHashPolicy::Pick(std::span<const Candidate> candidates, const PickContext& ctx) {
  if (candidates.empty()) return std::nullopt;
  auto change = set_.Update(candidates);
  if (change.ids || change.weights || ring_points_.empty()) Rebuild();

  int64_t total_active = 0;
  for (const Candidate& c : candidates) total_active += std::max<int64_t>(0, c.active);
  const uint64_t point = ctx.target.empty() ? StableHash(BytesOf(ClientKeyOf(ctx.client))) : StableHash(ctx.target);

  const size_t n = ring_points_.size();
  size_t at = static_cast<size_t>(std::lower_bound(ring_points_.begin(), ring_points_.end(), point) - ring_points_.begin());
  for (size_t step = 0; step < n; ++step, ++at) {
    if (at == n) at = 0;
    const uint32_t m = ring_members_[at];
    const size_t i = set_.CandidateOf(m);
    if (candidates[i].active < Capacity(epsilon_, total_active, set_.member(m).weight, total_weight_)) return i;
  }
  // Unreachable while the weights are sane (the capacities add up to more than the load);
  // with none sane, the least loaded.
  size_t least = 0;
  for (size_t i = 1; i < candidates.size(); ++i)
    if (candidates[i].active < candidates[least].active) least = i;
  return least;
}

}  // namespace tacc::frontdoor
