// Client affinity (frontdoor/affinity_policy.h) with fake time.
#include "frontdoor/affinity_policy.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "frontdoor/simple_policies.h"
#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using namespace std::chrono_literals;
using testing::Client;
using testing::NthClient;
using testing::Pool;

const PolicyClock::time_point kT0 = PolicyClock::time_point{} + 1000h;

// Round robin that counts its calls and the Done()s passed down to it.
class CountingPolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) override {
    ++picks;
    return rr_->Pick(candidates, ctx);
  }
  void Done(std::string_view id) override { done.emplace_back(id); }
  std::string_view name() const override { return "counting"; }
  int picks = 0;
  std::vector<std::string> done;

 private:
  std::unique_ptr<PickPolicy> rr_ = MakeRoundRobinPolicy();
};

struct Fixture {
  explicit Fixture(size_t max_clients = AffinityPolicy::kDefaultMaxClients) {
    auto counting = std::make_unique<CountingPolicy>();
    inner = counting.get();
    policy = std::make_unique<AffinityPolicy>(std::move(counting), 300s, 99, max_clients);
  }
  std::string Pick(const std::string& client, PolicyClock::time_point now, uint16_t port = 1) {
    return pool.Id(policy->Pick(pool.candidates(), Client(client, port, {}, now)));
  }
  Pool pool{{"a", "b", "c"}};
  CountingPolicy* inner;
  std::unique_ptr<AffinityPolicy> policy;
};

TEST(FrontdoorAffinityTest, AClientKeepsItsBackEndAcrossConnections) {
  Fixture f;
  EXPECT_EQ(f.policy->name(), "counting+affinity");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0, 1000), "a");
  EXPECT_EQ(f.Pick("192.0.2.2", kT0, 1000), "b");
  for (uint16_t port = 1001; port < 1010; ++port) {
    EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 1s, port), "a");
    EXPECT_EQ(f.Pick("192.0.2.2", kT0 + 1s, port), "b");
  }
  EXPECT_EQ(f.Pick("::ffff:192.0.2.1", kT0 + 2s), "a") << "the same client through a dual-stack socket";
  EXPECT_EQ(f.inner->picks, 2);
  EXPECT_EQ(f.policy->clients(), 2u);
  f.policy->Done("a");
  EXPECT_EQ(f.inner->done, std::vector<std::string>{"a"});
}

TEST(FrontdoorAffinityTest, EndsAfterTheTimeoutOfSilence) {
  Fixture f;
  EXPECT_EQ(f.Pick("192.0.2.1", kT0), "a");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 299s), "a");
  // Each connection restarts the clock: 299 + 299 s after the first is still within it.
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 598s), "a");
  EXPECT_EQ(f.inner->picks, 1);
  // Silent for exactly the timeout: the inner policy chooses again (round robin: b).
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 898s), "b");
  EXPECT_EQ(f.inner->picks, 2);
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 899s), "b") << "and the new choice is remembered";
}

TEST(FrontdoorAffinityTest, AClientOfAFailedBackEndMovesAndStaysMoved) {
  Fixture f;
  EXPECT_EQ(f.Pick("192.0.2.1", kT0), "a");
  f.pool.Remove("a");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 1s), "b");
  f.pool.Add("a");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 2s), "b");
  EXPECT_EQ(f.policy->clients(), 1u);
}

TEST(FrontdoorAffinityTest, RemembersAtMostItsBoundForgettingTheLongestSilent) {
  Fixture f(/*max_clients=*/2);
  EXPECT_EQ(f.Pick("192.0.2.1", kT0), "a");
  EXPECT_EQ(f.Pick("192.0.2.2", kT0 + 1s), "b");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 2s), "a");  // .1 seen again: .2 is the longest silent
  EXPECT_EQ(f.Pick("192.0.2.3", kT0 + 3s), "c");  // forgets .2
  EXPECT_EQ(f.policy->clients(), 2u);
  EXPECT_EQ(f.Pick("192.0.2.1", kT0 + 4s), "a");
  EXPECT_EQ(f.Pick("192.0.2.2", kT0 + 5s), "a") << ".2 was forgotten: chosen afresh";
}

TEST(FrontdoorAffinityTest, ExpiredClientsAreSweptAsChoicesGoBy) {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.Pick(NthClient(i), kT0);
  EXPECT_EQ(f.policy->clients(), 100u);
  // Later, one client comes back again and again: the 100 silent ones are swept, a few a
  // choice, without anyone scanning the whole table.
  for (int i = 0; i < 12; ++i) f.Pick("192.0.2.200", kT0 + 400s + std::chrono::seconds(i));
  EXPECT_GT(f.policy->clients(), 1u);
  for (int i = 12; i < 20; ++i) f.Pick("192.0.2.200", kT0 + 400s + std::chrono::seconds(i));
  EXPECT_EQ(f.policy->clients(), 1u);
}

TEST(FrontdoorAffinityTest, NoCandidatesNoChoiceNoMemory) {
  Fixture f;
  f.pool.Remove("a");
  f.pool.Remove("b");
  f.pool.Remove("c");
  EXPECT_EQ(f.Pick("192.0.2.1", kT0), "(none)");
  EXPECT_EQ(f.policy->clients(), 0u);
}

}  // namespace
}  // namespace tacc::frontdoor
