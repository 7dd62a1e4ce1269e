#include "tacc/url_api.h"

#include <gtest/gtest.h>

namespace tacc::tacc_layer {
namespace {

UrlSigningKey Key(const std::string& hex_entry) {
  auto k = ParseSigningKeys({hex_entry});
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return k->front();
}

const std::string kKey1 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:0a0b0c";
const std::string kKey2 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100:";

TEST(UrlApiTest, Base64UrlRoundTripsEveryLength) {
  std::string s;
  for (int i = 0; i < 70; ++i) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.has_value()) << i;
    EXPECT_EQ(*back, s);
    s.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");  // the URL-safe alphabet, no padding
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab=c").has_value());
}

TEST(UrlApiTest, KeysAreHexWithAMinimumLength) {
  EXPECT_TRUE(ParseSigningKeys({kKey1, kKey2}).ok());
  EXPECT_FALSE(ParseSigningKeys({"0011:00"}).ok()) << "a 2-byte key was accepted";
  EXPECT_FALSE(ParseSigningKeys({"zz112233445566778899aabbccddeeff:00"}).ok());
  EXPECT_EQ(Key(kKey1).salt, std::string("\x0a\x0b\x0c"));
}

TEST(UrlApiTest, ASignedPathParsesAndVerifies) {
  auto k1 = Key(kKey1);
  std::string path = MakeTransformPath("http://example.com/a.jpg?x=1", {{"w", "320"}, {"q", "60"}}, &k1);
  ASSERT_EQ(path.rfind(std::string(kUrlApiPrefix), 0), 0u);
  auto r = ParseTransformPath(std::string_view(path).substr(kUrlApiPrefix.size()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_url, "http://example.com/a.jpg?x=1");
  EXPECT_EQ(r->options.at("w"), "320");
  EXPECT_EQ(r->options.at("q"), "60");
  EXPECT_TRUE(VerifySignature(*r, {k1}, false).ok());
  // Rotation: any key in force will do; a key not in force won't.
  EXPECT_TRUE(VerifySignature(*r, {Key(kKey2), k1}, false).ok());
  EXPECT_EQ(VerifySignature(*r, {Key(kKey2)}, false).kind(), ErrorKind::kForbidden);
}

TEST(UrlApiTest, AnyChangeToTheSignedPathIsRefused) {
  auto k1 = Key(kKey1);
  std::string path = MakeTransformPath("http://example.com/a.jpg", {{"w", "320"}}, &k1);
  std::string rest = path.substr(kUrlApiPrefix.size());
  std::string tampered = rest;
  tampered.replace(tampered.find("w:320"), 5, "w:999");
  auto r = ParseTransformPath(tampered);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(VerifySignature(*r, {k1}, false).kind(), ErrorKind::kForbidden);
  // The salt is part of the MAC: the same key with another salt signs differently.
  UrlSigningKey other_salt = k1;
  other_salt.salt = "x";
  auto orig = ParseTransformPath(rest);
  EXPECT_EQ(VerifySignature(*orig, {other_salt}, false).kind(), ErrorKind::kForbidden);
}

TEST(UrlApiTest, UnsignedOnlyWhereAllowed) {
  std::string path = MakeTransformPath("http://example.com/a.jpg", {}, nullptr);
  auto r = ParseTransformPath(std::string_view(path).substr(kUrlApiPrefix.size()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signature, "unsafe");
  EXPECT_TRUE(r->options.empty());
  EXPECT_EQ(VerifySignature(*r, {Key(kKey1)}, false).kind(), ErrorKind::kForbidden);
  EXPECT_TRUE(VerifySignature(*r, {}, true).ok());
}

TEST(UrlApiTest, MalformedPathsAreClearErrors) {
  for (std::string bad : {"", "sig", "sig/w:1", "/w:1/aGk", "sig//aGk", "sig/w/aGk", "sig/w:1,w:2/aGk", "sig/W:1/aGk", "sig/w:1/!!", "sig/_/"}) {
    auto r = ParseTransformPath(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' was accepted";
    if (!r.ok()) {
      EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
    }
  }
  // A source URL with a control character inside is refused.
  EXPECT_FALSE(ParseTransformPath("sig/_/" + Base64UrlEncode("http://a/\r\nX: y")).ok());
}

}  // namespace
}  // namespace tacc::tacc_layer
