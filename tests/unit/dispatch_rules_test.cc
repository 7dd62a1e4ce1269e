#include "tacc/dispatch_rules.h"

#include <gtest/gtest.h>

namespace tacc::tacc_layer {
namespace {

DispatchRules Rules(const std::vector<std::string>& lines, int64_t min_bytes = 1024) {
  auto r = DispatchRules::Parse(lines, min_bytes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : DispatchRules();
}

TEST(DispatchRulesTest, FirstMatchWinsByTypeSizeAndProfile) {
  auto rules = Rules({"image/jpeg size<=100000 profile.gray=1 -> gray", "image/jpeg size<=100000 -> jpeg{q=40} | sharpen",
                      "image/* -> image", "text/html -> munger"});
  std::map<std::string, std::string> none, gray{{"gray", "1"}};
  ASSERT_NE(rules.Match("image/jpeg", 5000, gray), nullptr);
  EXPECT_EQ(rules.Match("image/jpeg", 5000, gray)->chain.front().worker_class, "gray");
  const DispatchRule* jpeg = rules.Match("Image/JPEG; charset=x", 5000, none);
  ASSERT_NE(jpeg, nullptr);
  ASSERT_EQ(jpeg->chain.size(), 2u);
  EXPECT_EQ(jpeg->chain[0].args.at("q"), "40");
  EXPECT_EQ(jpeg->chain[1].worker_class, "sharpen");
  EXPECT_EQ(rules.Match("image/jpeg", 200000, none)->chain.front().worker_class, "image") << "size<= not honoured";
  EXPECT_EQ(rules.Match("application/pdf", 5000, none), nullptr);
  EXPECT_EQ(rules.Classes(), (std::vector<std::string>{"gray", "image", "jpeg", "munger", "sharpen"}));
}

TEST(DispatchRulesTest, ObjectsUnderTheMinimumPassThrough) {
  auto rules = Rules({"*/* -> all"}, 1024);
  std::map<std::string, std::string> none;
  EXPECT_EQ(rules.Match("text/html", 1023, none), nullptr);
  EXPECT_NE(rules.Match("text/html", 1024, none), nullptr);
  EXPECT_EQ(rules.Match("not a mime type", 5000, none), nullptr);
}

TEST(DispatchRulesTest, MalformedRulesAreRefusedWithTheirText) {
  for (std::string bad : {"image/jpeg jpeg", "-> jpeg", "image -> jpeg", "*/jpeg -> x", "image/jpeg size>=lots -> x", "image/jpeg bogus -> x",
                          "image/jpeg -> ", "image/jpeg -> a || b", "image/jpeg -> a{q}", "image/jpeg -> a{q=1", "image/jpeg -> bad name",
                          "image/* -> auto | jpeg", "image/* -> auto{q=1}"}) {
    auto r = DispatchRules::Parse({bad}, 0);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(bad.substr(0, 10)), std::string::npos) << r.status().message();
    }
  }
}

TEST(DispatchRulesTest, AutoIsAPlannedChainNotAClass) {
  auto r = DispatchRules::Parse({"image/* -> auto", "text/html -> munger"}, 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const DispatchRule* m = r->Match("image/gif", 5000, {});
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->planned());
  EXPECT_FALSE(r->Match("text/html", 5000, {})->planned());
  EXPECT_EQ(r->Classes(), std::vector<std::string>{"munger"});
}

}  // namespace
}  // namespace tacc::tacc_layer
