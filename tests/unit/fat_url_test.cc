#include "tacc/fat_url.h"

#include <gtest/gtest.h>

namespace tacc::tacc_layer {
namespace {

TEST(FatUrlTest, NoParametersIsTheOriginalsKey) { EXPECT_EQ(FatUrl("http://a/b.jpg", {}), "http://a/b.jpg"); }

TEST(FatUrlTest, ParametersInAnyOrderGiveOneKey) {
  std::map<std::string, std::string> p1{{"w", "100"}, {"q", "30"}};
  std::map<std::string, std::string> p2;
  p2["q"] = "30";
  p2["w"] = "100";
  EXPECT_EQ(FatUrl("http://a/b.jpg", p1), FatUrl("http://a/b.jpg", p2));
  EXPECT_EQ(FatUrl("http://a/b.jpg", p1), "http://a/b.jpg\x1fq=30&w=100");
}

TEST(FatUrlTest, AVariantNeverCollidesWithAnotherUrl) {
  // A URL whose query looks like the parameters is still another key.
  EXPECT_NE(FatUrl("http://a/b.jpg", {{"q", "30"}}), "http://a/b.jpg?q=30");
  EXPECT_NE(FatUrl("http://a/b.jpg", {{"q", "30"}}), FatUrl("http://a/b.jpg", {{"q", "31"}}));
}

}  // namespace
}  // namespace tacc::tacc_layer
