#include "tacc/profile.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tacc::tacc_layer {
namespace {

Profile Sample() {
  Profile p;
  p.Set("image.quality", "30");
  p.Set("toolbar", "on");
  p.Set("empty", "");
  return p;
}

TEST(ProfileTest, GetSetErase) {
  Profile p = Sample();
  EXPECT_EQ(p.size(), 3u);
  EXPECT_EQ(p.Get("toolbar"), std::optional<std::string_view>("on"));
  EXPECT_EQ(p.Get("missing"), std::nullopt);
  EXPECT_EQ(p.GetOr("missing", "dflt"), "dflt");
  p.Set("toolbar", "off");
  EXPECT_EQ(p.GetOr("toolbar", ""), "off");
  EXPECT_TRUE(p.Erase("toolbar"));
  EXPECT_FALSE(p.Erase("toolbar"));
  EXPECT_EQ(p.size(), 2u);
}

TEST(ProfileTest, ValidateAcceptsWithinLimits) {
  EXPECT_TRUE(Validate(Sample(), ProfileLimits{}).ok());
  EXPECT_TRUE(Validate(Profile{}, ProfileLimits{}).ok());
  Profile p;
  p.Set(std::string(64, 'k'), std::string(1024, 'v'));
  EXPECT_TRUE(Validate(p, ProfileLimits{}).ok());
}

TEST(ProfileTest, ValidateRefusesTooManyKeys) {
  ProfileLimits limits;
  Profile p;
  for (size_t i = 0; i < limits.max_keys; ++i) p.Set("k" + std::to_string(i), "v");
  EXPECT_TRUE(Validate(p, limits).ok());
  p.Set("one.more", "v");
  Status s = Validate(p, limits);
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(s.message().find("keys"), std::string::npos) << s.ToString();
}

TEST(ProfileTest, ValidateRefusesLongKeysAndValues) {
  Profile long_key;
  long_key.Set(std::string(65, 'k'), "v");
  EXPECT_EQ(Validate(long_key, ProfileLimits{}).kind(), ErrorKind::kInvalidArgument);
  Profile long_value;
  long_value.Set("k", std::string(1025, 'v'));
  Status s = Validate(long_value, ProfileLimits{});
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(s.message().find("'k'"), std::string::npos) << s.ToString();
  ProfileLimits tight{.max_keys = 2, .max_key_bytes = 4, .max_value_bytes = 2};
  Profile p;
  p.Set("abcd", "xy");
  EXPECT_TRUE(Validate(p, tight).ok());
  p.Set("abcd", "xyz");
  EXPECT_FALSE(Validate(p, tight).ok());
}

TEST(ProfileTest, ValidateRefusesKeyCharacters) {
  for (const std::string& key :
       std::vector<std::string>{"", "Upper", "sp ace", "a=b", "a&b", "ümlaut", "tab\t", std::string("nul\0x", 5), "a/b", "a%20"}) {
    Profile p;
    p.Set(key, "v");
    EXPECT_EQ(Validate(p, ProfileLimits{}).kind(), ErrorKind::kInvalidArgument) << "key '" << key << "'";
  }
  for (const std::string& key : std::vector<std::string>{"a", "image.quality", "x-y_z.9", "0"}) {
    Profile p;
    p.Set(key, "v");
    EXPECT_TRUE(Validate(p, ProfileLimits{}).ok()) << "key '" << key << "'";
  }
}

TEST(ProfileTest, SerializesSortedAndEscaped) {
  EXPECT_EQ(SerializeProfile(Profile{}), "");
  EXPECT_EQ(SerializeProfile(Sample()), "empty=&image.quality=30&toolbar=on");
  Profile p;
  p.Set("k", "a b&c=d%e\xff\n~");
  EXPECT_EQ(SerializeProfile(p), "k=a%20b%26c%3Dd%25e%FF%0A~");
}

TEST(ProfileTest, RoundTrips) {
  Profile p = Sample();
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  p.Set("binary", all_bytes.substr(0, 1024));
  p.Set("utf8", "Grüße, 世界");
  auto back = ParseProfile(SerializeProfile(p), ProfileLimits{});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
  auto empty = ParseProfile("", ProfileLimits{});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ProfileTest, ParseAcceptsLowercaseEscapes) {
  auto p = ParseProfile("k=%2f%2F", ProfileLimits{});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->GetOr("k", ""), "//");
}

TEST(ProfileTest, ParseRejectsGarbage) {
  const char* bad[] = {
      "k",         // no '='
      "=v",        // empty key
      "k=v&",      // empty trailing pair
      "&k=v",      // empty leading pair
      "k=v&&j=w",  // empty middle pair
      "k=v&k=w",   // duplicate key
      "K=v",       // key outside [a-z0-9_.-]
      "k%3D=v",    // escaped '=' in a key is still not a key character
      "k=a b",     // raw space
      "k=a=b",     // raw '=' in a value
      "k=%",       // cut-off escape
      "k=%4",      // cut-off escape
      "k=%zz",     // not hex
      "k=%-1",     // not hex
      "k=\xff",    // raw high byte
      "k=v\n",     // raw control
      "k=v;j=w",   // wrong separator
  };
  for (const char* text : bad) {
    auto p = ParseProfile(text, ProfileLimits{});
    EXPECT_FALSE(p.ok()) << "accepted '" << text << "'";
    if (!p.ok()) {
      EXPECT_EQ(p.status().kind(), ErrorKind::kInvalidArgument);
    }
  }
  auto nul = ParseProfile(std::string_view("k=v\0", 4), ProfileLimits{});
  EXPECT_FALSE(nul.ok());
}

TEST(ProfileTest, ParseEnforcesLimits) {
  ProfileLimits limits{.max_keys = 2, .max_key_bytes = 3, .max_value_bytes = 4};
  EXPECT_TRUE(ParseProfile("abc=1234&b=", limits).ok());
  EXPECT_FALSE(ParseProfile("abcd=1", limits).ok());
  EXPECT_FALSE(ParseProfile("a=12345", limits).ok());
  EXPECT_FALSE(ParseProfile("a=%31%32%33%34%35", limits).ok());  // 5 bytes once decoded
  EXPECT_FALSE(ParseProfile("a=1&b=2&c=3", limits).ok());
  // Far longer than any valid profile: refused without decoding it.
  EXPECT_FALSE(ParseProfile("a=" + std::string(1 << 20, 'x'), limits).ok());
  EXPECT_FALSE(ParseProfile(std::string(1 << 20, '&'), ProfileLimits{}).ok());
}

// Hostile input: random bytes and random mutations of a valid text never crash, and
// whatever is accepted is a valid profile that serializes back to the same text.
TEST(ProfileTest, ParseSurvivesRandomInput) {
  std::mt19937 rng(12345);
  const std::string valid = SerializeProfile(Sample());
  const std::string alphabet = "ab=&%0F9zZ.-_~ \xff";
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      int len = static_cast<int>(rng() % 40);
      for (int j = 0; j < len; ++j) text += alphabet[rng() % alphabet.size()];
    } else {
      text = valid;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < edits; ++j) text[rng() % text.size()] = static_cast<char>(rng() % 256);
    }
    auto p = ParseProfile(text, ProfileLimits{});
    if (p.ok()) {
      EXPECT_TRUE(Validate(*p, ProfileLimits{}).ok());
      auto again = ParseProfile(SerializeProfile(*p), ProfileLimits{});
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *p);
    }
  }
}

}  // namespace
}  // namespace tacc::tacc_layer
