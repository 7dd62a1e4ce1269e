#include "tacc/user_token.h"

#include <gtest/gtest.h>

#include <set>

namespace tacc::tacc_layer {
namespace {

namespace bhttp = boost::beast::http;
namespace ip = boost::asio::ip;

const std::string kToken = "0123456789abcdef0123456789abcdef";
const std::string kOther = "fedcba9876543210fedcba9876543210";

bhttp::fields WithCookies(std::initializer_list<std::string> cookie_fields) {
  bhttp::fields f;
  for (const auto& c : cookie_fields) f.insert(bhttp::field::cookie, c);
  return f;
}

TEST(UserTokenTest, WellFormedIs32LowercaseHex) {
  EXPECT_TRUE(IsWellFormedUserToken(kToken));
  EXPECT_FALSE(IsWellFormedUserToken(""));
  EXPECT_FALSE(IsWellFormedUserToken(kToken.substr(1)));
  EXPECT_FALSE(IsWellFormedUserToken(kToken + "0"));
  EXPECT_FALSE(IsWellFormedUserToken("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(IsWellFormedUserToken("0123456789abcdeg0123456789abcdef"));
  EXPECT_FALSE(IsWellFormedUserToken("addr:10.0.0.1"));
}

TEST(UserTokenTest, NewTokensAreWellFormedAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto t = NewUserToken();
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(IsWellFormedUserToken(*t)) << *t;
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(UserTokenTest, CookieValuesParsesWhatClientsSend) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(CookieValues("tacc_user=abc", "tacc_user"), V{"abc"});
  EXPECT_EQ(CookieValues("a=1; tacc_user=abc; b=2", "tacc_user"), V{"abc"});
  EXPECT_EQ(CookieValues("a=1;tacc_user=abc;b=2", "tacc_user"), V{"abc"});
  EXPECT_EQ(CookieValues("  tacc_user \t=  abc  ;", "tacc_user"), V{"abc"});
  EXPECT_EQ(CookieValues("tacc_user=\"abc\"", "tacc_user"), V{"abc"});
  EXPECT_EQ(CookieValues("tacc_user=x; tacc_user=y", "tacc_user"), (V{"x", "y"}));
  EXPECT_EQ(CookieValues("tacc_user=a=b", "tacc_user"), V{"a=b"});
  EXPECT_EQ(CookieValues("tacc_user=", "tacc_user"), V{""});
  EXPECT_EQ(CookieValues("tacc_user", "tacc_user"), V{});
  EXPECT_EQ(CookieValues("xtacc_user=1; tacc_userx=2", "tacc_user"), V{});
  EXPECT_EQ(CookieValues("", "tacc_user"), V{});
  EXPECT_EQ(CookieValues(";;;=;", "tacc_user"), V{});
  EXPECT_EQ(CookieValues("tacc_user=\"", "tacc_user"), V{"\""});
}

TEST(UserTokenTest, TokenFromCookie) {
  auto client = ip::make_address("192.0.2.7");
  EXPECT_EQ(UserTokenOf(WithCookies({"tacc_user=" + kToken}), client), kToken);
  EXPECT_EQ(UserTokenOf(WithCookies({"session=x; tacc_user=\"" + kToken + "\"; theme=dark"}), client), kToken);
  // Several Cookie fields (HTTP/2 style split, or a sloppy client).
  EXPECT_EQ(UserTokenOf(WithCookies({"session=x", "tacc_user=" + kToken}), client), kToken);
  // The first well-formed one wins; malformed ones before it are skipped.
  EXPECT_EQ(UserTokenOf(WithCookies({"tacc_user=garbage; tacc_user=" + kOther, "tacc_user=" + kToken}), client), kOther);
  // Another cookie name.
  EXPECT_EQ(UserTokenOf(WithCookies({"tacc_user=" + kOther + "; me=" + kToken}), client, "me"), kToken);
}

TEST(UserTokenTest, MalformedCookiesFallBackToTheAddress) {
  auto client = ip::make_address("192.0.2.7");
  for (std::string cookie :
       {std::string(""), std::string("tacc_user"), std::string("tacc_user="), "tacc_user=" + kToken.substr(1), "tacc_user=" + kToken + "0",
        std::string("tacc_user=0123456789ABCDEF0123456789ABCDEF"), std::string("tacc_user=../../../etc/passwd"),
        "tacc_user=" + kToken.substr(0, 16) + "%00" + kToken.substr(19), "other=" + kToken, std::string("tacc_user=\x01\x02\xff")}) {
    EXPECT_EQ(UserTokenOf(WithCookies({cookie}), client), "addr:192.0.2.7") << cookie;
  }
  EXPECT_EQ(UserTokenOf(bhttp::fields{}, client), "addr:192.0.2.7");
  EXPECT_EQ(UserTokenFromCookies(WithCookies({"tacc_user=" + kToken}), ""), std::nullopt);
}

TEST(UserTokenTest, AddressTokens) {
  EXPECT_EQ(AddressUserToken(ip::make_address("10.1.2.3")), "addr:10.1.2.3");
  EXPECT_EQ(AddressUserToken(ip::make_address("2001:db8::1")), "addr:2001:db8::1");
  EXPECT_EQ(AddressUserToken(ip::make_address("::ffff:10.1.2.3")), "addr:10.1.2.3");
}

TEST(UserTokenTest, SetCookieValue) {
  EXPECT_EQ(UserTokenSetCookie(kToken), "tacc_user=" + kToken + "; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
  EXPECT_EQ(UserTokenSetCookie(kToken, "me"), "me=" + kToken + "; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax");
  // What we set is what we read back.
  auto client = ip::make_address("192.0.2.7");
  std::string set = UserTokenSetCookie(kToken);
  std::string cookie = set.substr(0, set.find(';'));
  EXPECT_EQ(UserTokenOf(WithCookies({cookie}), client), kToken);
}

}  // namespace
}  // namespace tacc::tacc_layer
