// BalancePolicy: which worker of a class gets the next task (paper §3.1.2, §4.5).
//
// The manager stub estimates each candidate's queue (beacon load plus its own running
// delta) and asks the policy to pick one. Chosen by stub.balance_policy:
//   lottery:      tickets = 1 / (1 + estimated queue)   (the paper's choice)
//   random:       uniform, ignores load
//   least_loaded: smallest estimate, ties broken at random (herds on stale data)
// Not thread-safe: one instance per front-end thread, with its own RNG.
#pragma once

#include <memory>
#include <random>
#include <span>
#include <string>

namespace tacc::sns {

class BalancePolicy {
 public:
  virtual ~BalancePolicy() = default;
  // Index into `estimated_loads`, which is never empty.
  virtual size_t Pick(std::span<const double> estimated_loads) = 0;
};

std::unique_ptr<BalancePolicy> MakeBalancePolicy(const std::string& name, uint64_t seed);

}  // namespace tacc::sns
