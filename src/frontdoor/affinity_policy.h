// AffinityPolicy: client affinity (IBM eNetwork Dispatcher's "client affinity", Cisco
// LocalDirector's "sticky" flag), frontdoor.affinity. Wraps any policy: a client address
// that was sent to a back end goes to the same one again, so state the two share (TLS
// sessions, a cart in memory) survives, until
//   - the client has been silent for `timeout` (each choice for it restarts the clock), or
//   - its back end is no longer a candidate (failed or removed): the client is moved,
// and then the inner policy chooses afresh and that choice is remembered.
//
// Remembers at most `max_clients` clients (roughly 150 bytes each, ~150 MB at the default
// bound), forgetting the longest silent first. Entries past their timeout are swept a few
// per choice, oldest first, so the sweep costs O(1) amortized. Client addresses are keyed
// with a hash seeded from `seed`, so addresses an attacker chooses do not collide.
// Thread safety: none.
#pragma once

#include <memory>
#include <string>

#include "frontdoor/client_key.h"
#include "frontdoor/lru_map.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class AffinityPolicy final : public PickPolicy {
 public:
  static constexpr size_t kDefaultMaxClients = 1'000'000;

  AffinityPolicy(std::unique_ptr<PickPolicy> inner, PolicyClock::duration timeout, uint64_t seed, size_t max_clients = kDefaultMaxClients);

  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) override;
  void Done(std::string_view id) override { inner_->Done(id); }
  std::string_view name() const override { return name_; }  // "<inner>+affinity"

  size_t clients() const { return clients_.size(); }  // clients remembered now

 private:
  struct Entry {
    std::string id;
    PolicyClock::time_point last_seen;
  };
  void Sweep(PolicyClock::time_point now);

  std::unique_ptr<PickPolicy> inner_;
  PolicyClock::duration timeout_;
  std::string name_;
  LruMap<ClientKey, Entry, ClientKeyHash> clients_;  // least recently seen last
};

}  // namespace tacc::frontdoor
