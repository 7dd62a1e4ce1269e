// The chain planner (issue 8, "Composition"): the cheapest chain of classes from an
// object's type to one the client accepts, and the Accept parsing it relies on.
#include <gtest/gtest.h>

#include "tacc/accept_list.h"
#include "tacc/chain_planner.h"

namespace tacc::tacc_layer {
namespace {

TEST(AcceptListTest, MostSpecificMemberGivesTheQuality) {
  auto a = AcceptList::Parse("image/avif,image/webp,image/*;q=0.8, */*;q=0.1, image/gif;q=0");
  EXPECT_DOUBLE_EQ(a.Quality("image/avif"), 1);
  EXPECT_DOUBLE_EQ(a.Quality("image/png"), 0.8);
  EXPECT_DOUBLE_EQ(a.Quality("text/html"), 0.1);
  EXPECT_DOUBLE_EQ(a.Quality("image/gif"), 0);  // refused outright, whatever image/* says
  EXPECT_FALSE(a.Accepts("image/gif"));
}

TEST(AcceptListTest, AbsentOrUnusableFieldAcceptsEverything) {
  EXPECT_TRUE(AcceptList().Accepts("image/x-anything"));
  EXPECT_TRUE(AcceptList::Parse("").Accepts("text/plain"));
  EXPECT_TRUE(AcceptList::Parse("garbage, ;;").Accepts("text/plain"));
}

TEST(AcceptListTest, MalformedMembersAreSkippedNotTrusted) {
  auto a = AcceptList::Parse("image/jpeg;q=2, */png, text/html;q=abc, IMAGE/PNG;Q=0.5");
  EXPECT_DOUBLE_EQ(a.Quality("image/png"), 0.5);  // case-insensitive
  EXPECT_FALSE(a.Accepts("image/jpeg"));          // q=2 is out of range: the member is dropped
  EXPECT_FALSE(a.Accepts("text/html"));
}

ChainPlanner Planner() {
  return ChainPlanner({
      {"gif", {"image/gif"}, {"image/jpeg", "image/gif"}, 5.0},  // decodes, quantizes: dear
      {"gif2png", {"image/gif"}, {"image/png"}, 1.0},
      {"png", {"image/png"}, {"image/jpeg", "image/png"}, 1.5},
      {"jpeg", {"image/jpeg"}, {"image/jpeg"}, 1.0},
      {"munger", {"text/html"}, {"text/html"}, 1.0},
  });
}

TEST(ChainPlannerTest, ChainOfTwoWinsWhenCheaperThanOne) {
  auto plan = Planner().Plan("image/gif", AcceptList::Parse("image/jpeg"));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Text(), "gif2png|png");
  EXPECT_DOUBLE_EQ(plan->cost, 2.5);
  EXPECT_EQ(plan->produces, "image/jpeg");
  // The first step must make what the second takes; the last must make what the client
  // takes, since png could also make image/png.
  EXPECT_EQ(plan->steps[0].args.at("to"), "image/png");
  EXPECT_EQ(plan->steps[1].args.at("to"), "image/jpeg");
}

TEST(ChainPlannerTest, OneStepWinsWhenCheaper) {
  ChainPlanner p({
      {"gif", {"image/gif"}, {"image/jpeg"}, 2.0},
      {"gif2png", {"image/gif"}, {"image/png"}, 1.0},
      {"png", {"image/png"}, {"image/jpeg"}, 1.5},
  });
  auto plan = p.Plan("image/gif", AcceptList::Parse("image/jpeg"));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Text(), "gif");
  EXPECT_EQ(plan->steps[0].args.at("to"), "image/jpeg");
  // A last step whose every product is acceptable chooses among them: no `to`.
  auto free = Planner().Plan("image/png", AcceptList());
  ASSERT_TRUE(free);
  EXPECT_EQ(free->Text(), "png");
  EXPECT_FALSE(free->steps[0].args.contains("to"));
}

TEST(ChainPlannerTest, AtLeastOneStepEvenWhenTheOriginalIsAcceptable) {
  auto plan = Planner().Plan("image/jpeg; charset=binary", AcceptList::Parse("*/*"));
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Text(), "jpeg");
}

TEST(ChainPlannerTest, WhatTheClientAcceptsDecides) {
  // A client that takes PNG only: the cheap one-step chain to PNG.
  auto png = Planner().Plan("image/gif", AcceptList::Parse("image/png"));
  ASSERT_TRUE(png);
  EXPECT_EQ(png->Text(), "gif2png");
  // Everything: the cheapest first step that ends acceptable.
  auto any = Planner().Plan("image/gif", AcceptList());
  ASSERT_TRUE(any);
  EXPECT_EQ(any->Text(), "gif2png");
}

TEST(ChainPlannerTest, NoChainWhenNothingReachesAnAcceptedType) {
  EXPECT_FALSE(Planner().Plan("image/gif", AcceptList::Parse("image/webp")));
  EXPECT_FALSE(Planner().Plan("application/pdf", AcceptList()));
  EXPECT_FALSE(ChainPlanner().Plan("image/gif", AcceptList()));
}

TEST(ChainPlannerTest, StepsAreBoundedAndCyclesEnd) {
  // a -> b -> c -> d -> e, with a cycle b <-> c; the client wants e only.
  std::vector<ClassTypes> line = {
      {"ab", {"x/a"}, {"x/b"}, 1}, {"bc", {"x/b"}, {"x/c"}, 1}, {"cb", {"x/c"}, {"x/b"}, 1},
      {"cd", {"x/c"}, {"x/d"}, 1}, {"de", {"x/d"}, {"x/e"}, 1},
  };
  auto four = ChainPlanner(line, 4).Plan("x/a", AcceptList::Parse("x/e"));
  ASSERT_TRUE(four);
  EXPECT_EQ(four->Text(), "ab|bc|cd|de");
  EXPECT_FALSE(ChainPlanner(line, 3).Plan("x/a", AcceptList::Parse("x/e")));
  EXPECT_FALSE(ChainPlanner(line, 8).Plan("x/a", AcceptList::Parse("x/z")));  // terminates
}

TEST(ChainPlannerTest, ClassOrderInTheConfigurationDoesNotChangeThePlan) {
  std::vector<ClassTypes> classes = {{"b", {"x/a"}, {"x/b"}, 1}, {"a", {"x/a"}, {"x/b"}, 1}};
  auto plan = ChainPlanner(classes).Plan("x/a", AcceptList());
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->Text(), "a");
}

}  // namespace
}  // namespace tacc::tacc_layer
