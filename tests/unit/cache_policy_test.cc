#include "tacc/cache_policy.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <utility>

namespace tacc::tacc_layer {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;
using std::chrono::seconds;

// Fake "now": Fri, 01 Mar 2024 12:00:00 GMT. Nothing here reads a clock.
const HttpTime kT0 = HttpTime(std::chrono::sys_days{std::chrono::year{2024} / 3 / 1}) + 12h;

bhttp::fields Fields(std::initializer_list<std::pair<std::string_view, std::string_view>> lines) {
  bhttp::fields f;
  for (const auto& [name, value] : lines) f.insert(name, value);
  return f;
}

std::string Date(HttpTime t) { return FormatHttpDate(t); }

// ---------------------------------------------------------------- HTTP-date

TEST(CachePolicyDateTest, ParsesImfFixdate) {
  auto t = ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", kT0);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, HttpTime(std::chrono::sys_days{std::chrono::year{1994} / 11 / 6}) + 8h + 49min + 37s);
}

TEST(CachePolicyDateTest, ParsesObsoleteForms) {
  const HttpTime expected = *ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", kT0);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kT0), expected);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994", kT0), expected);
  EXPECT_EQ(ParseHttpDate("Wed Nov 16 08:49:37 1994", kT0), expected + std::chrono::days(10));
  EXPECT_EQ(ParseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT ", kT0), expected);  // OWS around a field value
  EXPECT_EQ(ParseHttpDate("sun, 06 nov 1994 08:49:37 gmt", kT0), expected);     // names in any case
}

TEST(CachePolicyDateTest, TwoDigitYearsMoreThanFiftyYearsAheadAreInThePast) {
  auto year_of = [](std::string_view text) {
    auto t = ParseHttpDate(text, kT0);  // reference year 2024
    return t ? static_cast<int>(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*t)).year()) : 0;
  };
  EXPECT_EQ(year_of("Monday, 01-Jan-74 00:00:00 GMT"), 2074);
  EXPECT_EQ(year_of("Monday, 01-Jan-75 00:00:00 GMT"), 1975);
  EXPECT_EQ(year_of("Monday, 01-Jan-30 00:00:00 GMT"), 2030);
  EXPECT_EQ(year_of("Monday, 01-Jan-99 00:00:00 GMT"), 1999);
}

TEST(CachePolicyDateTest, RejectsInvalidDates) {
  for (std::string_view bad :
       {"", "0", "-1", "now", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT junk", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun, 00 Nov 1994 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseHttpDate(bad, kT0)) << "'" << bad << "'";
  }
}

TEST(CachePolicyDateTest, ClampsFarYearsSoArithmeticCannotOverflow) {
  auto far = ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT", kT0);
  ASSERT_TRUE(far);
  EXPECT_EQ(*far, HttpTime(std::chrono::sys_days{std::chrono::year{2200} / 1 / 1}));
  auto old = ParseHttpDate("Mon, 01 Jan 1601 00:00:00 GMT", kT0);
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, HttpTime(std::chrono::sys_days{std::chrono::year{1900} / 1 / 1}));
}

TEST(CachePolicyDateTest, FormatsImfFixdateAndRoundTrips) {
  EXPECT_EQ(FormatHttpDate(kT0), "Fri, 01 Mar 2024 12:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(kT0 + 500ms), "Fri, 01 Mar 2024 12:00:00 GMT");
  const HttpTime t = kT0 + std::chrono::days(300) + 13h + 5min + 7s;
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(t), kT0), t);
}

// ---------------------------------------------------------------- Cache-Control

TEST(CachePolicyCacheControlTest, DirectiveNamesAreCaseInsensitive) {
  auto cc = ParseCacheControl(Fields({{"Cache-Control", "Max-Age=60, NO-STORE, Public"}}));
  EXPECT_EQ(cc.max_age, 60s);
  EXPECT_TRUE(cc.no_store);
  EXPECT_TRUE(cc.public_);
  EXPECT_FALSE(cc.malformed);
}

TEST(CachePolicyCacheControlTest, CommasInsideQuotesDoNotSplit) {
  auto cc = ParseCacheControl(Fields({{"Cache-Control", R"(no-cache="set-cookie, no-store, max-age=5", max-age=60)"}}));
  EXPECT_TRUE(cc.no_cache);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(cc.max_age, 60s);
}

TEST(CachePolicyCacheControlTest, QuotedDeltaSecondsAreAccepted) {
  auto cc = ParseCacheControl(Fields({{"Cache-Control", R"(max-age="60", s-maxage="1\20")"}}));
  EXPECT_EQ(cc.max_age, 60s);
  EXPECT_EQ(cc.s_maxage, 120s);  // quoted-pair unescaped
}

TEST(CachePolicyCacheControlTest, DirectivesOnSeveralLinesCombine) {
  auto cc = ParseCacheControl(Fields({{"Cache-Control", "public"}, {"cache-control", "max-age=30"}}));
  EXPECT_TRUE(cc.public_);
  EXPECT_EQ(cc.max_age, 30s);
}

TEST(CachePolicyCacheControlTest, ConflictingDuplicatesAreStale) {
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=60, max-age=60"}})).max_age, 60s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=60, max-age=120"}})).max_age, 0s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=60"}, {"Cache-Control", "max-age=120"}})).max_age, 0s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "s-maxage=5, s-maxage=6, s-maxage=5"}})).s_maxage, 0s);
}

TEST(CachePolicyCacheControlTest, GarbageIsConservative) {
  auto bad_value = ParseCacheControl(Fields({{"Cache-Control", "max-age=abc"}}));
  EXPECT_EQ(bad_value.max_age, 0s);
  EXPECT_TRUE(bad_value.malformed);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=-5"}})).max_age, 0s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=10 junk"}})).max_age, 0s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age"}})).max_age, 0s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age="}})).max_age, 0s);
  EXPECT_TRUE(ParseCacheControl(Fields({{"Cache-Control", "no-store junk"}})).no_store);
  EXPECT_TRUE(ParseCacheControl(Fields({{"Cache-Control", "=oops, @@, public"}})).public_);
  EXPECT_TRUE(ParseCacheControl(Fields({{"Cache-Control", " , ,public ,,"}})).public_);
  // An unterminated quote swallows the rest of the line.
  auto unterminated = ParseCacheControl(Fields({{"Cache-Control", R"(no-cache="abc, max-age=100)"}}));
  EXPECT_TRUE(unterminated.no_cache);
  EXPECT_FALSE(unterminated.max_age);
  EXPECT_TRUE(unterminated.malformed);
}

TEST(CachePolicyCacheControlTest, HugeDeltaSecondsSaturate) {
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-age=999999999999999999999999"}})).max_age, kDeltaSecondsMax);
}

TEST(CachePolicyCacheControlTest, RequestDirectives) {
  auto cc = ParseCacheControl(Fields({{"Cache-Control", "min-fresh=10, only-if-cached, max-stale"}}));
  EXPECT_EQ(cc.min_fresh, 10s);
  EXPECT_TRUE(cc.only_if_cached);
  EXPECT_TRUE(cc.max_stale_any);
  auto strict = ParseCacheControl(Fields({{"Cache-Control", "max-stale, max-stale=30, max-stale=10, min-fresh=5, min-fresh=20"}}));
  EXPECT_FALSE(strict.max_stale_any);
  EXPECT_EQ(strict.max_stale, 10s);
  EXPECT_EQ(strict.min_fresh, 20s);
  EXPECT_EQ(ParseCacheControl(Fields({{"Cache-Control", "max-stale=soon"}})).max_stale, 0s);
  EXPECT_FALSE(ParseCacheControl(Fields({{"Cache-Control", "min-fresh=soon"}})).min_fresh);
}

// ---------------------------------------------------------------- Storable

const bhttp::fields kNoRequestFields;

bhttp::fields CacheableResponse() {
  return Fields({{"Date", "Fri, 01 Mar 2024 12:00:00 GMT"}, {"Last-Modified", "Thu, 01 Feb 2024 12:00:00 GMT"}});
}

TEST(CachePolicyStorableTest, PlainGet200WithValidatorIsStored) {
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, CacheableResponse()), StoreDecision::kStore);
  EXPECT_EQ(StoreDecisionName(StoreDecision::kStore), "store");
}

TEST(CachePolicyStorableTest, OnlyGetIsStored) {
  EXPECT_EQ(Storable(bhttp::verb::head, kNoRequestFields, 200, CacheableResponse()), StoreDecision::kMethodNotCacheable);
  EXPECT_EQ(Storable(bhttp::verb::post, kNoRequestFields, 200, CacheableResponse()), StoreDecision::kMethodNotCacheable);
}

TEST(CachePolicyStorableTest, StatusMustBeUnderstood) {
  for (unsigned status : {100u, 206u, 304u, 418u, 500u, 502u, 299u}) {
    EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, status, CacheableResponse()), StoreDecision::kStatusNotUnderstood) << status;
  }
  for (unsigned status : {200u, 203u, 204u, 301u, 404u, 410u}) {
    EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, status, CacheableResponse()), StoreDecision::kStore) << status;
  }
}

TEST(CachePolicyStorableTest, NonHeuristicStatusNeedsExplicitFreshness) {
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 302, CacheableResponse()), StoreDecision::kNotExplicitlyCacheable);
  auto with_max_age = CacheableResponse();
  with_max_age.set(bhttp::field::cache_control, "max-age=60");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 302, with_max_age), StoreDecision::kStore);
  auto with_public = CacheableResponse();
  with_public.set(bhttp::field::cache_control, "public");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 307, with_public), StoreDecision::kStore);
}

TEST(CachePolicyStorableTest, NoStoreInRequestOrResponse) {
  EXPECT_EQ(Storable(bhttp::verb::get, Fields({{"Cache-Control", "no-store"}}), 200, CacheableResponse()), StoreDecision::kRequestNoStore);
  auto resp = CacheableResponse();
  resp.set(bhttp::field::cache_control, "max-age=600, no-store");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kResponseNoStore);
  // must-understand lets a cache that implements the status ignore no-store.
  resp.set(bhttp::field::cache_control, "max-age=600, no-store, must-understand");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kStore);
}

TEST(CachePolicyStorableTest, PrivateIsNeverStoredInASharedCache) {
  auto resp = CacheableResponse();
  resp.set(bhttp::field::cache_control, "private, max-age=600");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kPrivate);
  resp.set(bhttp::field::cache_control, R"(max-age=600, private="set-cookie")");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kPrivate);
}

TEST(CachePolicyStorableTest, AuthorizedRequestsNeedExplicitPermission) {
  const auto auth = Fields({{"Authorization", "Bearer x"}});
  auto resp = CacheableResponse();
  resp.set(bhttp::field::cache_control, "max-age=600");
  EXPECT_EQ(Storable(bhttp::verb::get, auth, 200, resp), StoreDecision::kAuthorization);
  EXPECT_EQ(Storable(bhttp::verb::get, auth, 200, CacheableResponse()), StoreDecision::kAuthorization);
  for (std::string_view permits : {"public", "s-maxage=60", "must-revalidate, max-age=60"}) {
    resp.set(bhttp::field::cache_control, permits);
    EXPECT_EQ(Storable(bhttp::verb::get, auth, 200, resp), StoreDecision::kStore) << permits;
  }
}

TEST(CachePolicyStorableTest, VaryStarIsNotStored) {
  auto resp = CacheableResponse();
  resp.set(bhttp::field::vary, "*");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kVaryStar);
  resp.set(bhttp::field::vary, "Accept-Encoding, *");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kVaryStar);
  resp.set(bhttp::field::vary, "Accept Encoding");  // not a field name: treated as *
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kVaryStar);
  resp.set(bhttp::field::vary, "Accept-Encoding");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kStore);
}

TEST(CachePolicyStorableTest, SetCookieIsNotStoredByDefault) {
  auto resp = CacheableResponse();
  resp.insert(bhttp::field::set_cookie, "id=1");
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp), StoreDecision::kSetCookie);
  CachePolicyOptions options;
  options.store_set_cookie = true;
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, resp, options), StoreDecision::kStore);
}

TEST(CachePolicyStorableTest, NeitherFreshnessNorValidatorIsUseless) {
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Date", "Fri, 01 Mar 2024 12:00:00 GMT"}})),
            StoreDecision::kUseless);
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Cache-Control", "max-age=0"}})), StoreDecision::kUseless);
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Cache-Control", "no-cache, max-age=60"}})),
            StoreDecision::kUseless);
  // s-maxage=0 overrides max-age for a shared cache.
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Cache-Control", "s-maxage=0, max-age=60"}})),
            StoreDecision::kUseless);
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Cache-Control", "max-age=60"}})), StoreDecision::kStore);
  EXPECT_EQ(Storable(bhttp::verb::get, kNoRequestFields, 200, Fields({{"Cache-Control", "no-cache"}, {"ETag", R"("v1")"}})),
            StoreDecision::kStore);
}

TEST(CachePolicyStorableTest, EnsureDateAddsOnlyAMissingOrInvalidDate) {
  bhttp::fields none;
  EnsureDate(none, kT0);
  EXPECT_EQ(none[bhttp::field::date], "Fri, 01 Mar 2024 12:00:00 GMT");
  auto invalid = Fields({{"Date", "yesterday"}});
  EnsureDate(invalid, kT0);
  EXPECT_EQ(invalid[bhttp::field::date], "Fri, 01 Mar 2024 12:00:00 GMT");
  auto valid = Fields({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EnsureDate(valid, kT0);
  EXPECT_EQ(valid[bhttp::field::date], "Sun, 06 Nov 1994 08:49:37 GMT");
}

// ---------------------------------------------------------------- Freshness lifetime

TEST(CachePolicyFreshnessTest, SMaxageOverridesMaxAge) {
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Cache-Control", "max-age=60, s-maxage=600"}}), kT0), 600s);
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Cache-Control", "s-maxage=0, max-age=600"}}), kT0), 0s);
}

TEST(CachePolicyFreshnessTest, MaxAgeOverridesExpires) {
  auto resp = Fields({{"Cache-Control", "max-age=60"}, {"Date", Date(kT0)}, {"Expires", Date(kT0 + 1h)}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 60s);
}

TEST(CachePolicyFreshnessTest, ExpiresMinusDate) {
  // Date is the origin's clock: Expires is measured from it, not from our receipt time.
  auto resp = Fields({{"Date", Date(kT0 - 10min)}, {"Expires", Date(kT0 + 50min)}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 3600s);
}

TEST(CachePolicyFreshnessTest, ExpiresInThePastIsZero) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Expires", Date(kT0 - 1h)}, {"Last-Modified", Date(kT0 - std::chrono::days(100))}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 0s);
}

TEST(CachePolicyFreshnessTest, InvalidExpiresIsAlreadyExpired) {
  // Not even the heuristic applies: an Expires was given, and it means "expired".
  for (std::string_view bad : {"0", "-1", "never", ""}) {
    auto resp = Fields({{"Date", Date(kT0)}, {"Expires", bad}, {"Last-Modified", Date(kT0 - std::chrono::days(100))}});
    EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 0s) << "'" << bad << "'";
  }
}

TEST(CachePolicyFreshnessTest, ConflictingExpiresIsExpired) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Expires", Date(kT0 + 1h)}, {"Expires", Date(kT0 + 2h)}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 0s);
}

TEST(CachePolicyFreshnessTest, MissingDateUsesTheResponseTime) {
  auto resp = Fields({{"Expires", Date(kT0 + 1h)}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 3600s);
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0 + 30min), 1800s);
  auto invalid_date = Fields({{"Date", "garbage"}, {"Expires", Date(kT0 + 1h)}});
  EXPECT_EQ(FreshnessLifetime(200, invalid_date, kT0), 3600s);
}

TEST(CachePolicyFreshnessTest, HeuristicIsATenthOfTheTimeSinceLastModified) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Last-Modified", Date(kT0 - std::chrono::days(5))}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 12h);
}

TEST(CachePolicyFreshnessTest, HeuristicIsCapped) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Last-Modified", Date(kT0 - std::chrono::days(365))}});
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0), 24h);
  CachePolicyOptions options;
  options.heuristic_max = 1h;
  EXPECT_EQ(FreshnessLifetime(200, resp, kT0, options), 1h);
}

TEST(CachePolicyFreshnessTest, HeuristicOnlyForHeuristicallyCacheableOrPublic) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Last-Modified", Date(kT0 - std::chrono::days(5))}});
  EXPECT_EQ(FreshnessLifetime(302, resp, kT0), 0s);
  resp.set(bhttp::field::cache_control, "public");
  EXPECT_EQ(FreshnessLifetime(302, resp, kT0), 12h);
}

TEST(CachePolicyFreshnessTest, HeuristicNeedsALastModifiedBeforeDate) {
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Date", Date(kT0)}}), kT0), 0s);
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Date", Date(kT0)}, {"Last-Modified", Date(kT0 + 1h)}}), kT0), 0s);
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Date", Date(kT0)}, {"Last-Modified", "bogus"}}), kT0), 0s);
  // Without Date, the receipt time stands in.
  EXPECT_EQ(FreshnessLifetime(200, Fields({{"Last-Modified", Date(kT0 - std::chrono::days(5))}}), kT0), 12h);
}

// ---------------------------------------------------------------- Age

TEST(CachePolicyAgeTest, ResidentTimePlusResponseDelay) {
  auto resp = Fields({{"Date", Date(kT0)}});
  EXPECT_EQ(CurrentAge(resp, kT0 - 2s, kT0, kT0 + 100s), 102s);
}

TEST(CachePolicyAgeTest, AgeHeaderIsAddedToTheDelay) {
  auto resp = Fields({{"Date", Date(kT0)}, {"Age", "50"}});
  EXPECT_EQ(CurrentAge(resp, kT0 - 2s, kT0, kT0 + 100s), 152s);
}

TEST(CachePolicyAgeTest, ApparentAgeFromAnOldDateWins) {
  // The origin's Date is 30 s before we received it and no Age: apparent age 30.
  auto resp = Fields({{"Date", Date(kT0 - 30s)}, {"Age", "5"}});
  EXPECT_EQ(CurrentAge(resp, kT0 - 1s, kT0, kT0 + 10s), 40s);
}

TEST(CachePolicyAgeTest, DateInTheFutureGivesNoNegativeAge) {
  auto resp = Fields({{"Date", Date(kT0 + 1h)}});
  EXPECT_EQ(CurrentAge(resp, kT0, kT0, kT0), 0s);
  EXPECT_EQ(CurrentAge(resp, kT0, kT0, kT0 - 5s), 0s);  // clock stepped back
}

TEST(CachePolicyAgeTest, MissingDateCountsFromReceipt) { EXPECT_EQ(CurrentAge(bhttp::fields{}, kT0, kT0, kT0 + 7s), 7s); }

TEST(CachePolicyAgeTest, InvalidAgeIsVeryOld) {
  for (std::string_view bad : {"abc", "-1", "1.5", "10, 20"}) {
    auto resp = Fields({{"Date", Date(kT0)}, {"Age", bad}});
    EXPECT_GE(CurrentAge(resp, kT0, kT0, kT0), kDeltaSecondsMax) << bad;
  }
  EXPECT_GE(CurrentAge(Fields({{"Age", "10"}, {"Age", "20"}}), kT0, kT0, kT0), kDeltaSecondsMax);
}

TEST(CachePolicyAgeTest, AgeFieldValue) {
  EXPECT_EQ(AgeFieldValue(5s), "5");
  EXPECT_EQ(AgeFieldValue(-5s), "0");
  EXPECT_EQ(AgeFieldValue(seconds(1LL << 40)), "2147483648");
}

// ---------------------------------------------------------------- Vary

TEST(CachePolicyVaryTest, NoVaryMatchesEveryRequest) {
  auto resp = CacheableResponse();
  auto key = SecondaryKey(resp, Fields({{"Accept-Encoding", "gzip"}}));
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, "");
  EXPECT_TRUE(VaryMatches(resp, *key, Fields({{"Accept-Encoding", "br"}})));
}

TEST(CachePolicyVaryTest, SelectsOnTheNamedField) {
  auto resp = Fields({{"Vary", "Accept-Encoding"}});
  auto key = *SecondaryKey(resp, Fields({{"Accept-Encoding", "gzip, deflate"}}));
  EXPECT_TRUE(VaryMatches(resp, key, Fields({{"accept-encoding", "gzip, deflate"}})));
  EXPECT_TRUE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "gzip,deflate"}})));
  EXPECT_TRUE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "  gzip \t,   deflate "}})));
  EXPECT_TRUE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "gzip"}, {"Accept-Encoding", "deflate"}})));
  EXPECT_FALSE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "br"}})));
  EXPECT_FALSE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "deflate, gzip"}})));  // order is meaningful
  EXPECT_FALSE(VaryMatches(resp, key, Fields({{"Accept-Encoding", "GZIP, deflate"}})));  // values are not case-folded
  EXPECT_FALSE(VaryMatches(resp, key, Fields({})));
}

TEST(CachePolicyVaryTest, AbsentDiffersFromEmpty) {
  auto resp = Fields({{"Vary", "X-Flag"}});
  auto absent = *SecondaryKey(resp, Fields({}));
  auto empty = *SecondaryKey(resp, Fields({{"X-Flag", ""}}));
  EXPECT_NE(absent, empty);
  EXPECT_TRUE(VaryMatches(resp, absent, Fields({{"Other", "1"}})));
  EXPECT_FALSE(VaryMatches(resp, absent, Fields({{"X-Flag", ""}})));
}

TEST(CachePolicyVaryTest, SeveralFieldsInAnyOrderAndCase) {
  auto resp1 = Fields({{"Vary", "Accept-Encoding, User-Agent"}});
  auto resp2 = Fields({{"vary", "user-agent"}, {"VARY", "accept-encoding, User-Agent"}});
  auto request = Fields({{"User-Agent", "Foo/1.0"}, {"Accept-Encoding", "gzip"}, {"Accept", "*/*"}});
  EXPECT_EQ(*SecondaryKey(resp1, request), *SecondaryKey(resp2, request));
  auto key = *SecondaryKey(resp1, request);
  EXPECT_TRUE(VaryMatches(resp1, key, Fields({{"Accept-Encoding", "gzip"}, {"User-Agent", "Foo/1.0"}, {"Accept", "text/html"}})));
  EXPECT_FALSE(VaryMatches(resp1, key, Fields({{"Accept-Encoding", "gzip"}, {"User-Agent", "Bar/2.0"}})));
  EXPECT_FALSE(VaryMatches(resp1, key, Fields({{"Accept-Encoding", "br"}, {"User-Agent", "Foo/1.0"}})));
}

TEST(CachePolicyVaryTest, ValuesCannotForgeAnotherFieldsEntry) {
  // Length prefixes keep "a" = "1+1:b" from looking like a = "1" and b absent or the like.
  auto resp = Fields({{"Vary", "A, B"}});
  EXPECT_NE(*SecondaryKey(resp, Fields({{"A", "x"}, {"B", "y"}})), *SecondaryKey(resp, Fields({{"A", "x+1:y"}})));
}

TEST(CachePolicyVaryTest, WhitespaceInsideQuotesIsKept) {
  auto resp = Fields({{"Vary", "X-Q"}});
  EXPECT_NE(*SecondaryKey(resp, Fields({{"X-Q", R"("a  b")"}})), *SecondaryKey(resp, Fields({{"X-Q", R"("a b")"}})));
}

TEST(CachePolicyVaryTest, StarNeverMatches) {
  auto resp = Fields({{"Vary", "*"}});
  EXPECT_FALSE(SecondaryKey(resp, Fields({})));
  EXPECT_FALSE(VaryMatches(resp, "", Fields({})));
}

// ---------------------------------------------------------------- Lookup

// A stored response fetched by a request sent at kT0 - 1 s and answered at kT0.
struct Stored {
  unsigned status = 200;
  bhttp::fields headers;
  std::string key;
  StoredResponseView View() const { return {status, &headers, key, kT0 - 1s, kT0}; }
};

Stored StoredWith(std::string_view cache_control, std::string_view etag = R"("v1")") {
  Stored s;
  s.headers = Fields({{"Date", Date(kT0)}, {"Last-Modified", Date(kT0 - std::chrono::days(30))}});
  if (!cache_control.empty()) s.headers.set(bhttp::field::cache_control, cache_control);
  if (!etag.empty()) s.headers.set(bhttp::field::etag, etag);
  s.key = *SecondaryKey(s.headers, bhttp::fields{});
  return s;
}

LookupDecision LookupGet(const Stored& s, const bhttp::fields& request, HttpTime now) {
  return Lookup(bhttp::verb::get, request, s.View(), now);
}

TEST(CachePolicyLookupTest, FreshIsServedWithItsAge) {
  auto s = StoredWith("max-age=100");
  auto d = LookupGet(s, {}, kT0 + 10s);
  EXPECT_EQ(d.action, LookupAction::kServe);
  EXPECT_EQ(d.reason, "fresh");
  EXPECT_EQ(d.current_age, 11s);  // 1 s response delay + 10 s resident
  EXPECT_EQ(d.freshness_lifetime, 100s);
  EXPECT_FALSE(d.stale);
  EXPECT_EQ(AgeFieldValue(d.current_age), "11");
  EXPECT_TRUE(d.may_serve_stale_if_unreachable);
}

TEST(CachePolicyLookupTest, StaleIsRevalidatedWithValidators) {
  auto s = StoredWith("max-age=100");
  auto d = LookupGet(s, {}, kT0 + 200s);
  EXPECT_EQ(d.action, LookupAction::kRevalidate);
  EXPECT_EQ(d.reason, "stale");
  EXPECT_TRUE(d.stale);
  EXPECT_EQ(d.conditional_headers[bhttp::field::if_none_match], R"("v1")");
  EXPECT_EQ(d.conditional_headers[bhttp::field::if_modified_since], Date(kT0 - std::chrono::days(30)));
}

TEST(CachePolicyLookupTest, ExactlyAtTheLifetimeIsStale) {
  auto s = StoredWith("max-age=100");
  EXPECT_EQ(LookupGet(s, {}, kT0 + 98s).action, LookupAction::kServe);       // age 99
  EXPECT_EQ(LookupGet(s, {}, kT0 + 99s).action, LookupAction::kRevalidate);  // age 100
}

TEST(CachePolicyLookupTest, AgeHeaderLargerThanLifetimeIsStale) {
  auto s = StoredWith("max-age=60");
  s.headers.set(bhttp::field::age, "120");
  auto d = LookupGet(s, {}, kT0);
  EXPECT_EQ(d.action, LookupAction::kRevalidate);
  EXPECT_GE(d.current_age, 120s);
}

TEST(CachePolicyLookupTest, ExpiresInThePastRevalidatesAtOnce) {
  Stored s;
  s.headers = Fields({{"Date", Date(kT0)}, {"Expires", Date(kT0 - 1h)}, {"ETag", R"("e")"}});
  EXPECT_EQ(LookupGet(s, {}, kT0).action, LookupAction::kRevalidate);
  s.headers.set(bhttp::field::expires, "0");
  EXPECT_EQ(LookupGet(s, {}, kT0).action, LookupAction::kRevalidate);
}

TEST(CachePolicyLookupTest, WithoutValidatorsRevalidationIsUnconditional) {
  auto s = StoredWith("max-age=10", "");
  s.headers.erase(bhttp::field::last_modified);
  auto d = LookupGet(s, {}, kT0 + 1h);
  EXPECT_EQ(d.action, LookupAction::kRevalidate);
  EXPECT_TRUE(d.conditional_headers.begin() == d.conditional_headers.end());
}

TEST(CachePolicyLookupTest, RequestNoCacheAndMaxAgeZeroRevalidateEvenWhenFresh) {
  auto s = StoredWith("max-age=1000");
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "no-cache"}}), kT0).reason, "request-no-cache");
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-age=0"}}), kT0).reason, "request-max-age");
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-age=0"}}), kT0).action, LookupAction::kRevalidate);
  EXPECT_EQ(LookupGet(s, Fields({{"Pragma", "no-cache"}}), kT0).action, LookupAction::kRevalidate);
  // Pragma is ignored when the request has Cache-Control.
  EXPECT_EQ(LookupGet(s, Fields({{"Pragma", "no-cache"}, {"Cache-Control", "max-age=100"}}), kT0).action, LookupAction::kServe);
}

TEST(CachePolicyLookupTest, ResponseMaxAgeZeroDiffersFromNoCache) {
  // Both need revalidation, but a client's max-stale may accept a max-age=0 response,
  // never a no-cache one.
  const auto lenient = Fields({{"Cache-Control", "max-stale=60"}});
  auto max_age_zero = StoredWith("max-age=0");
  EXPECT_EQ(LookupGet(max_age_zero, {}, kT0).action, LookupAction::kRevalidate);
  EXPECT_EQ(LookupGet(max_age_zero, lenient, kT0 + 5s).action, LookupAction::kServe);
  auto no_cache = StoredWith("no-cache, max-age=1000");
  EXPECT_EQ(LookupGet(no_cache, {}, kT0).reason, "response-no-cache");
  EXPECT_EQ(LookupGet(no_cache, lenient, kT0 + 5s).action, LookupAction::kRevalidate);
  EXPECT_FALSE(LookupGet(no_cache, {}, kT0).may_serve_stale_if_unreachable);
}

TEST(CachePolicyLookupTest, RequestMaxAgeLimitsAge) {
  auto s = StoredWith("max-age=1000");
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-age=100"}}), kT0 + 49s).action, LookupAction::kServe);
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-age=100"}}), kT0 + 149s).action, LookupAction::kRevalidate);
}

TEST(CachePolicyLookupTest, MinFreshRequiresRemainingFreshness) {
  auto s = StoredWith("max-age=100");
  // age 50, 50 s of freshness left
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "min-fresh=40"}}), kT0 + 49s).action, LookupAction::kServe);
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "min-fresh=60"}}), kT0 + 49s).reason, "request-min-fresh");
}

TEST(CachePolicyLookupTest, MaxStaleAllowsBoundedStaleness) {
  auto s = StoredWith("max-age=100");
  const HttpTime now = kT0 + 149s;  // age 150, 50 s stale
  auto allowed = LookupGet(s, Fields({{"Cache-Control", "max-stale=60"}}), now);
  EXPECT_EQ(allowed.action, LookupAction::kServe);
  EXPECT_EQ(allowed.reason, "stale-within-max-stale");
  EXPECT_TRUE(allowed.stale);
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-stale=30"}}), now).action, LookupAction::kRevalidate);
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "max-stale"}}), now).action, LookupAction::kServe);
}

TEST(CachePolicyLookupTest, RevalidateDirectivesForbidStaleServing) {
  const auto lenient = Fields({{"Cache-Control", "max-stale"}});
  for (std::string_view cc : {"max-age=100, must-revalidate", "max-age=100, proxy-revalidate", "s-maxage=100"}) {
    auto s = StoredWith(cc);
    auto d = LookupGet(s, lenient, kT0 + 1h);
    EXPECT_EQ(d.action, LookupAction::kRevalidate) << cc;
    EXPECT_FALSE(d.may_serve_stale_if_unreachable) << cc;
    EXPECT_EQ(LookupGet(s, lenient, kT0).action, LookupAction::kServe) << cc;  // fresh is fine
  }
}

TEST(CachePolicyLookupTest, OnlyIfCachedGivesGatewayTimeoutInsteadOfFetching) {
  const auto only = Fields({{"Cache-Control", "only-if-cached"}});
  auto s = StoredWith("max-age=100");
  EXPECT_EQ(LookupGet(s, only, kT0).action, LookupAction::kServe);
  EXPECT_EQ(LookupGet(s, only, kT0 + 1h).action, LookupAction::kGatewayTimeout);
  EXPECT_EQ(LookupGet(s, Fields({{"Cache-Control", "only-if-cached, max-stale"}}), kT0 + 1h).action, LookupAction::kServe);
  EXPECT_EQ(DecideOnMiss(only).action, LookupAction::kGatewayTimeout);
  EXPECT_EQ(DecideOnMiss({}).action, LookupAction::kForward);
  EXPECT_EQ(LookupActionName(LookupAction::kGatewayTimeout), "gateway-timeout");
}

TEST(CachePolicyLookupTest, VaryMismatchIsNotUsable) {
  Stored s = StoredWith("max-age=100");
  s.headers.set(bhttp::field::vary, "Accept-Encoding");
  s.key = *SecondaryKey(s.headers, Fields({{"Accept-Encoding", "gzip"}}));
  EXPECT_EQ(LookupGet(s, Fields({{"Accept-Encoding", "gzip"}}), kT0).action, LookupAction::kServe);
  auto d = LookupGet(s, Fields({{"Accept-Encoding", "br"}}), kT0);
  EXPECT_EQ(d.action, LookupAction::kForward);
  EXPECT_EQ(d.reason, "vary-mismatch");
  EXPECT_EQ(LookupGet(s, Fields({{"Accept-Encoding", "br"}, {"Cache-Control", "only-if-cached"}}), kT0).action,
            LookupAction::kGatewayTimeout);
}

TEST(CachePolicyLookupTest, HeadIsServedFromAStoredGetAndOtherMethodsAreNot) {
  auto s = StoredWith("max-age=100");
  EXPECT_EQ(Lookup(bhttp::verb::head, {}, s.View(), kT0).action, LookupAction::kServe);
  EXPECT_EQ(Lookup(bhttp::verb::post, {}, s.View(), kT0).action, LookupAction::kForward);
}

// ---------------------------------------------------------------- 304 update and invalidation

TEST(CachePolicyUpdateTest, NotModifiedReplacesAllButFramingFields) {
  auto stored = Fields({{"Date", Date(kT0 - 1h)},
                        {"Cache-Control", "max-age=60"},
                        {"ETag", R"("v1")"},
                        {"Content-Length", "100"},
                        {"Content-Type", "text/html"},
                        {"Content-Encoding", "gzip"},
                        {"X-Multi", "a"},
                        {"X-Multi", "b"},
                        {"X-Kept", "k"}});
  auto not_modified = Fields({{"Date", Date(kT0)},
                              {"Cache-Control", "max-age=600"},
                              {"ETag", R"("v1")"},
                              {"Content-Length", "0"},
                              {"Content-Encoding", "br"},
                              {"Transfer-Encoding", "chunked"},
                              {"Connection", "X-Hop"},
                              {"X-Hop", "1"},
                              {"Keep-Alive", "timeout=5"},
                              {"X-Multi", "c"},
                              {"X-New", "n1"},
                              {"X-New", "n2"}});
  ASSERT_TRUE(UpdateFromNotModified(stored, not_modified, kT0 + 1s));
  EXPECT_EQ(stored[bhttp::field::date], Date(kT0));
  EXPECT_EQ(stored[bhttp::field::cache_control], "max-age=600");
  EXPECT_EQ(stored[bhttp::field::content_length], "100");
  EXPECT_EQ(stored[bhttp::field::content_encoding], "gzip");
  EXPECT_EQ(stored[bhttp::field::content_type], "text/html");
  EXPECT_EQ(stored.count(bhttp::field::transfer_encoding), 0u);
  EXPECT_EQ(stored.count(bhttp::field::connection), 0u);
  EXPECT_EQ(stored.count(bhttp::field::keep_alive), 0u);
  EXPECT_EQ(stored.count("X-Hop"), 0u);
  EXPECT_EQ(stored.count("X-Multi"), 1u);
  EXPECT_EQ(stored["X-Multi"], "c");
  EXPECT_EQ(stored.count("X-New"), 2u);
  EXPECT_EQ(stored["X-Kept"], "k");
  EXPECT_EQ(stored.count(bhttp::field::etag), 1u);
  EXPECT_EQ(FreshnessLifetime(200, stored, kT0), 600s);
}

TEST(CachePolicyUpdateTest, NotModifiedWithoutDateOrAgeRestartsTheAge) {
  // Fetched at kT0 with Age 50; revalidated an hour later by a 304 carrying neither.
  auto stored = Fields({{"Date", Date(kT0)}, {"Age", "50"}, {"Cache-Control", "max-age=600"}, {"ETag", R"("v1")"}});
  ASSERT_TRUE(UpdateFromNotModified(stored, Fields({{"ETag", R"("v1")"}}), kT0 + 1h));
  EXPECT_EQ(stored[bhttp::field::date], Date(kT0 + 1h));
  EXPECT_EQ(stored.count(bhttp::field::age), 0u);
  EXPECT_EQ(CurrentAge(stored, kT0 + 1h, kT0 + 1h, kT0 + 1h + 10s), 10s);
  // A 304 that carries them (e.g. through another cache) supplies them.
  ASSERT_TRUE(UpdateFromNotModified(stored, Fields({{"Date", Date(kT0 + 2h)}, {"Age", "7"}}), kT0 + 2h + 1s));
  EXPECT_EQ(stored[bhttp::field::date], Date(kT0 + 2h));
  EXPECT_EQ(stored[bhttp::field::age], "7");
}

TEST(CachePolicyUpdateTest, NotModifiedForAnotherRepresentationIsRefused) {
  auto stored = Fields({{"ETag", R"("v1")"}, {"Cache-Control", "max-age=60"}});
  EXPECT_FALSE(UpdateFromNotModified(stored, Fields({{"ETag", R"("v2")"}, {"Cache-Control", "max-age=600"}}), kT0));
  EXPECT_EQ(stored[bhttp::field::cache_control], "max-age=60");
  EXPECT_TRUE(NotModifiedSelects(stored, Fields({{"ETag", R"(W/"v1")"}})));  // weak comparison
  EXPECT_FALSE(NotModifiedSelects(Fields({}), Fields({{"ETag", R"("v1")"}})));
}

TEST(CachePolicyUpdateTest, LastModifiedSelectsWhenThereIsNoETag) {
  const auto lm = Date(kT0 - std::chrono::days(3));
  auto stored = Fields({{"Last-Modified", lm}});
  EXPECT_TRUE(NotModifiedSelects(stored, Fields({{"Last-Modified", lm}})));
  EXPECT_FALSE(NotModifiedSelects(stored, Fields({{"Last-Modified", Date(kT0)}})));
  EXPECT_TRUE(NotModifiedSelects(stored, Fields({{"Date", Date(kT0)}})));  // no validator at all
}

TEST(CachePolicyUpdateTest, UnsafeMethodsInvalidateOnSuccess) {
  EXPECT_TRUE(InvalidatesStored(bhttp::verb::post, 200));
  EXPECT_TRUE(InvalidatesStored(bhttp::verb::delete_, 204));
  EXPECT_TRUE(InvalidatesStored(bhttp::verb::put, 303));
  EXPECT_FALSE(InvalidatesStored(bhttp::verb::post, 500));
  EXPECT_FALSE(InvalidatesStored(bhttp::verb::put, 404));
  EXPECT_FALSE(InvalidatesStored(bhttp::verb::get, 200));
  EXPECT_FALSE(InvalidatesStored(bhttp::verb::head, 200));
}

// ---------------------------------------------------------------- robustness

TEST(CachePolicyRobustnessTest, RandomFieldValuesNeverBreakTheParsers) {
  // Seeded, so a failure reproduces. Mostly characters that matter to the grammars.
  std::mt19937 rng(20240301);
  const std::string alphabet = "\"\\,=; \t-0123456789aAgGmMxX*W/:";
  for (int round = 0; round < 3000; ++round) {
    std::string value;
    const int length = static_cast<int>(rng() % 40);
    for (int i = 0; i < length; ++i) value += (rng() % 8 == 0) ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    auto fields = Fields({{"Cache-Control", value},
                          {"Vary", value},
                          {"Age", value},
                          {"Expires", value},
                          {"Date", value},
                          {"Last-Modified", value},
                          {"ETag", value},
                          {"Accept", value}});
    auto cc = ParseCacheControl(fields);
    if (cc.max_age) {
      EXPECT_LE(*cc.max_age, kDeltaSecondsMax);
    }
    (void)ParseHttpDate(value, kT0);
    EXPECT_GE(FreshnessLifetime(200, fields, kT0), 0s);
    EXPECT_GE(CurrentAge(fields, kT0, kT0, kT0), 0s);
    (void)Storable(bhttp::verb::get, fields, 200, fields);
    if (auto key = SecondaryKey(fields, fields)) {
      EXPECT_TRUE(VaryMatches(fields, *key, fields));
    }
    Stored s;
    s.headers = fields;
    s.key = SecondaryKey(fields, fields).value_or("");
    (void)LookupGet(s, fields, kT0 + 1h);
    auto copy = fields;
    (void)UpdateFromNotModified(copy, fields, kT0);
  }
}

}  // namespace
}  // namespace tacc::tacc_layer
