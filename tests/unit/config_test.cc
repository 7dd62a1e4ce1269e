#include "common/config.h"

#include <gtest/gtest.h>

namespace tacc {
namespace {

TEST(ConfigTest, DefaultsAreValid) {
  auto c = Config::Load("", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->beacon.interval_ms, 500);
  EXPECT_NE(c->FindClass("test"), nullptr);
}

TEST(ConfigTest, OverrideNamesTheBadSetting) {
  auto c = Config::Load("", {"beacon.interval_ms=-5"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("beacon.interval_ms"), std::string::npos);
  auto u = Config::Load("", {"beacon.nope=1"});
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("beacon.nope"), std::string::npos);
}

}  // namespace
}  // namespace tacc
