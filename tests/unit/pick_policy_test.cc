// MakePickPolicy (frontdoor/pick_policy.cc): every name frontdoor.policy accepts builds
// a working policy, with affinity when asked; bad names and settings are refused.
#include "frontdoor/pick_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using testing::Client;
using testing::NthClient;
using testing::Pool;

TEST(FrontdoorPolicyTest, EveryPolicyAnswersNothingForNoCandidatesAndAnIndexOtherwise) {
  for (std::string name : {"round_robin", "random", "least_connections", "weighted", "fastest_response", "source_hash", "load_weighted",
                           "lard", "bounded_hash"}) {
    for (bool affinity : {false, true}) {
      Config::Frontdoor s;
      s.policy = name;
      s.affinity = affinity;
      auto p = MakePickPolicy(s, 1);
      ASSERT_TRUE(p.ok()) << name << ": " << p.status().ToString();
      EXPECT_EQ((*p)->name(), affinity ? name + "+affinity" : name);
      EXPECT_FALSE((*p)->Pick({}, Client("10.0.0.1")).has_value()) << name;
      Pool pool({"x:1", "y:2", "z:3"});
      for (int i = 0; i < 50; ++i) {
        auto got = (*p)->Pick(pool.candidates(), Client(NthClient(i), 1000, i % 2 ? "/a" : ""));
        ASSERT_TRUE(got.has_value()) << name;
        EXPECT_LT(*got, 3u) << name;
      }
    }
  }
}

TEST(FrontdoorPolicyTest, UnknownPolicyNamesTheSetting) {
  Config::Frontdoor s;
  s.policy = "fastest";
  auto p = MakePickPolicy(s, 1);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(p.status().message().find("frontdoor.policy"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("'fastest'"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("fastest_response"), std::string::npos) << "lists the known names: " << p.status().message();
}

TEST(FrontdoorPolicyTest, BadSettingsOfThePolicyAreRefused) {
  Config::Frontdoor s;
  s.policy = "lard";
  s.lard_idle = 130;
  s.lard_overload = 130;
  auto p = MakePickPolicy(s, 1);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("frontdoor.lard_idle"), std::string::npos) << p.status().message();
  s.policy = "bounded_hash";
  s.chash_epsilon = 0;
  EXPECT_FALSE(MakePickPolicy(s, 1).ok());
  s.chash_epsilon = std::nan("");
  EXPECT_FALSE(MakePickPolicy(s, 1).ok());
  s.policy = "round_robin";
  s.affinity = true;
  s.affinity_timeout_s = 0;
  auto a = MakePickPolicy(s, 1);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("frontdoor.affinity_timeout_s"), std::string::npos) << a.status().message();
}

TEST(FrontdoorPolicyTest, AffinitySettingWrapsThePolicy) {
  Config::Frontdoor s;
  s.policy = "round_robin";
  s.affinity = true;
  auto p = MakePickPolicy(s, 1);
  ASSERT_TRUE(p.ok());
  Pool pool({"a", "b", "c"});
  // Round robin alone would rotate; with affinity one client keeps its back end.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(pool.Id((*p)->Pick(pool.candidates(), Client("192.0.2.7"))), "a");
  EXPECT_EQ(pool.Id((*p)->Pick(pool.candidates(), Client("192.0.2.8"))), "b");
}

}  // namespace
}  // namespace tacc::frontdoor
