// CandidateSet (frontdoor/candidate_set.h): what changed between two choices' back ends.
#include "frontdoor/candidate_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "pick_policy_test_util.h"

namespace tacc::frontdoor {
namespace {

using testing::Pool;

TEST(FrontdoorCandidateSetTest, ReportsJoinsLeavesAndWeightChangesNotReordering) {
  Pool pool({"b", "a", "c"}, {1, 2, 3});
  CandidateSet set;
  auto ch = set.Update(pool.candidates());
  EXPECT_TRUE(ch.ids);
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set.member(0).id, "a");
  EXPECT_EQ(set.member(0).weight, 2);
  EXPECT_EQ(set.CandidateOf(0), 1u);
  EXPECT_EQ(set.MemberOf(0), 1u);  // "b"

  ch = set.Update(pool.candidates());
  EXPECT_FALSE(ch.ids || ch.weights);
  std::reverse(pool.candidates().begin(), pool.candidates().end());  // c a b
  ch = set.Update(pool.candidates());
  EXPECT_FALSE(ch.ids || ch.weights) << "a new order is the same set";
  EXPECT_EQ(set.CandidateOf(0), 1u);
  EXPECT_EQ(set.CandidateOf(2), 0u);

  pool["a"].weight = 5;
  ch = set.Update(pool.candidates());
  EXPECT_TRUE(ch.weights);
  EXPECT_FALSE(ch.ids);
  EXPECT_EQ(set.member(0).weight, 5);

  std::vector<int32_t> old_to_new;
  pool.Remove("b");
  pool.Add("d");  // c a d
  ch = set.Update(pool.candidates(), &old_to_new);
  EXPECT_TRUE(ch.ids);
  EXPECT_EQ(old_to_new, (std::vector<int32_t>{0, -1, 1}));  // a -> 0, b left, c -> 1 (a c d)
  EXPECT_EQ(set.member(2).id, "d");
  EXPECT_EQ(set.CandidateOf(2), 2u);
}

}  // namespace
}  // namespace tacc::frontdoor
