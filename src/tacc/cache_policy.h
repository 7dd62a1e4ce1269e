// HTTP caching rules for a partition of the virtual cache (SNS paper §3.1.5), after
// RFC 9111 for a SHARED cache, and HTTP-date handling after RFC 9110 §5.6.7.
//
// The virtual cache holds BASE data: losing an entry, or refusing to store one, costs
// only the time of another fetch, while serving a response that must not be reused (a
// private one, a stale one the origin forbade, another client's variant) is a real bug.
// So every doubtful input falls on the conservative side: garbage in Cache-Control, an
// invalid Expires or Age, a conflicting duplicate directive make a response stale or
// unstorable, never fresher.
//
// Pure functions over Beast header sets, status codes and time points passed in by the
// caller: nothing here reads a clock, does I/O or knows what a proxy serves. The cache
// worker (`tacc cache`) and the front end's cache client call these around an LruStore
// (lru_store.h). Thread-safe (no shared state). No exceptions escape.
//
// Deliberate choices within what the RFC allows (all conservative):
//   * Only the status codes in StatusUnderstood() are stored; 206 is never stored
//     (no Range support), nor 304 (it only updates a stored response).
//   * Qualified `private="f"` and `no-cache="f"` are treated as their unqualified forms.
//   * A stored response without freshness and without a validator is refused as useless.
//   * Responses carrying Set-Cookie are refused unless CachePolicyOptions says otherwise:
//     a cookie set for one client must not reach another through a shared cache.
//   * Request `max-age=0` always revalidates (as browsers mean it), even at age 0.
//   * `Pragma: no-cache` in a request without Cache-Control counts as `no-cache`.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tacc::tacc_layer {

using HttpTime = std::chrono::system_clock::time_point;

// --- HTTP-date (RFC 9110 §5.6.7)

// Parses IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
// Month and day names are matched case-insensitively; the weekday must be a real day
// name but need not agree with the date. A two-digit RFC 850 year more than 50 years
// after `reference` (normally the time of receipt) is taken from the previous century.
// Years are clamped to [1900, 2200] so arithmetic on the result never overflows.
// Returns nullopt for anything else (an out-of-range field, a missing "GMT", "0", "").
std::optional<HttpTime> ParseHttpDate(std::string_view text, HttpTime reference);

// IMF-fixdate of `t` (truncated to the second).
std::string FormatHttpDate(HttpTime t);

// --- Cache-Control (RFC 9111 §5.2)

// Delta-seconds larger than this (or overflowing) count as this (RFC 9111 §1.2.2).
inline constexpr std::chrono::seconds kDeltaSecondsMax{2147483648LL};

// The directives of all Cache-Control field lines of a message, parsed robustly:
// directive names case-insensitive, values a token or a quoted-string (commas inside
// quotes do not split), unknown directives ignored. Conservative repairs:
//   * a max-age / s-maxage with a bad value, or repeated with different values, is 0
//     (stale), as RFC 9111 §4.2.1 encourages;
//   * a min-fresh with a bad value is ignored; a max-stale with a bad value allows no
//     staleness;
//   * a directive followed by garbage still counts (e.g. "no-store junk" is no-store).
struct CacheControl {
  bool no_store = false;
  bool no_cache = false;  // qualified form included
  bool private_ = false;  // qualified form included
  bool public_ = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool no_transform = false;
  bool only_if_cached = false;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  std::optional<std::chrono::seconds> min_fresh;
  bool max_stale_any = false;  // max-stale with no value: any staleness
  std::optional<std::chrono::seconds> max_stale;
  bool malformed = false;  // some part could not be parsed (for logs)
};
CacheControl ParseCacheControl(const boost::beast::http::fields& fields);

// --- Options

struct CachePolicyOptions {
  // Heuristic freshness (RFC 9111 §4.2.2): this fraction of (Date - Last-Modified),
  // capped at heuristic_max.
  double heuristic_fraction = 0.1;
  std::chrono::seconds heuristic_max = std::chrono::hours(24);
  // Store responses that carry Set-Cookie (RFC 9111 allows it; off by default).
  bool store_set_cookie = false;
};

// --- Storing (RFC 9111 §3)

enum class StoreDecision {
  kStore,
  kMethodNotCacheable,      // not GET (HEAD and others never store; HEAD may only update)
  kStatusNotUnderstood,     // 1xx, 206, 304, or a status we do not implement
  kRequestNoStore,          // no-store in the request
  kResponseNoStore,         // no-store in the response
  kPrivate,                 // private (we are a shared cache)
  kAuthorization,           // request had Authorization, response lacks public/s-maxage/must-revalidate
  kNotExplicitlyCacheable,  // no expiry, not public, and the status is not heuristically cacheable
  kVaryStar,                // Vary: * (or an unparseable Vary) never matches a later request
  kSetCookie,               // response sets a cookie and options say not to store those
  kUseless,                 // no freshness and no validator: could never be served
};

// "store", "request-no-store", ...: a stable name for logs and metrics labels.
std::string_view StoreDecisionName(StoreDecision decision);

// Whether a shared cache may store the response to `request` (method + fields).
StoreDecision Storable(boost::beast::http::verb method, const boost::beast::http::fields& request, unsigned status,
                       const boost::beast::http::fields& response, const CachePolicyOptions& options = {});

// Status codes whose caching rules we implement: 200 203 204 300 301 302 303 307 308
// 404 405 410 414 501.
bool StatusUnderstood(unsigned status);
// RFC 9110 §15.1 minus 206: 200 203 204 300 301 308 404 405 410 414 501.
bool StatusHeuristicallyCacheable(unsigned status);

// Adds `Date: <response_time>` if the response has no valid Date (RFC 9110 §6.6.1: a
// recipient that caches a message without Date must add one). Call before storing.
void EnsureDate(boost::beast::http::fields& response, HttpTime response_time);

// --- Freshness and age (RFC 9111 §4.2)

// Freshness lifetime of a stored response for a shared cache: s-maxage, else max-age,
// else Expires - Date, else heuristic (only for heuristically cacheable statuses or
// `public`, only with Last-Modified before Date). An invalid or repeated Expires gives 0
// (already expired). `response_time` stands in for a missing or invalid Date.
std::chrono::seconds FreshnessLifetime(unsigned status, const boost::beast::http::fields& response, HttpTime response_time,
                                       const CachePolicyOptions& options = {});

// Current age (RFC 9111 §4.2.3) from Age, Date, the time the request that fetched the
// response was sent (`request_time`) and the time the response arrived
// (`response_time`). An invalid Age counts as kDeltaSecondsMax (stale).
std::chrono::seconds CurrentAge(const boost::beast::http::fields& response, HttpTime request_time, HttpTime response_time, HttpTime now);

// Value for the Age field of a response served from the cache ("0" ... "2147483648").
std::string AgeFieldValue(std::chrono::seconds current_age);

// --- Vary (RFC 9111 §4.1)

// The secondary key of a response to `request`: for each field the response's Vary
// names (lowercased, deduplicated, sorted), the request's value with all its field lines
// combined and whitespace normalised (runs of SP/HTAB to one SP, none around commas,
// none at the ends), absence distinct from an empty value. Empty string without Vary.
// nullopt for `Vary: *` or a Vary that is not a list of field names: never matches.
std::optional<std::string> SecondaryKey(const boost::beast::http::fields& response, const boost::beast::http::fields& request);

// True if `request` selects the stored response whose secondary key (computed when it
// was stored) is `stored_key`.
bool VaryMatches(const boost::beast::http::fields& stored_response, std::string_view stored_key, const boost::beast::http::fields& request);

// --- Reuse of a stored response (RFC 9111 §4)

// What the cache knows of a stored response besides its body.
struct StoredResponseView {
  unsigned status = 200;
  const boost::beast::http::fields* headers = nullptr;  // not null
  std::string_view secondary_key;                       // SecondaryKey() at store time
  HttpTime request_time;                                // when the fetching request was sent
  HttpTime response_time;                               // when its response arrived
};

enum class LookupAction {
  kServe,           // serve the stored response (possibly stale if the client allowed it)
  kRevalidate,      // send a conditional request (conditional_headers) to the origin
  kForward,         // the stored response can't be used at all: fetch as on a miss
  kGatewayTimeout,  // only-if-cached and nothing usable: answer 504
};
std::string_view LookupActionName(LookupAction action);

struct LookupDecision {
  LookupAction action = LookupAction::kForward;
  std::string_view reason;              // "fresh", "stale", "request-no-cache", ...
  std::chrono::seconds current_age{0};  // put AgeFieldValue(current_age) on a served response
  std::chrono::seconds freshness_lifetime{0};
  bool stale = false;  // current_age >= freshness_lifetime
  // If revalidation fails because the origin is unreachable, the stale response may be
  // served (RFC 9111 §4.2.4): false with must-revalidate, proxy-revalidate, s-maxage or
  // no-cache on the response.
  bool may_serve_stale_if_unreachable = false;
  // For kRevalidate: If-None-Match (from ETag) and If-Modified-Since (from
  // Last-Modified) to add to the forwarded request. Empty if the stored response has no
  // validator: then the revalidation is an unconditional fetch.
  boost::beast::http::fields conditional_headers;
};

// Decides how to answer `request` (method + fields) from a stored response at `now`:
// method GET or HEAD, Vary matching, request no-cache / max-age / min-fresh / max-stale
// / only-if-cached, response no-cache / must-revalidate / proxy-revalidate / s-maxage.
LookupDecision Lookup(boost::beast::http::verb method, const boost::beast::http::fields& request, const StoredResponseView& stored,
                      HttpTime now, const CachePolicyOptions& options = {});

// The decision when nothing is stored for the request: kGatewayTimeout if the request
// says only-if-cached, else kForward.
LookupDecision DecideOnMiss(const boost::beast::http::fields& request);

// The conditional fields that revalidate `stored_response`.
boost::beast::http::fields ConditionalHeaders(const boost::beast::http::fields& stored_response);

// --- Updating after revalidation (RFC 9111 §4.3.3, §4.3.4)

// True if a 304 with `not_modified` fields applies to the stored response: their ETags
// agree (weak comparison) if both have one, else their Last-Modified agree if both have
// one; a 304 with no validator applies.
bool NotModifiedSelects(const boost::beast::http::fields& stored_response, const boost::beast::http::fields& not_modified);

// Replaces in `stored_response` every field the 304 carries (all lines of that name),
// except framing and content-coding fields (Content-Length, Transfer-Encoding,
// Content-Encoding, Content-Range) and hop-by-hop ones (Connection and the fields it
// names, Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
// Trailer, Upgrade). Date and Age describe the old fetch: when the 304 lacks them, the
// stored Age is dropped and Date becomes `response_time` (when the 304 arrived). The
// caller then records the revalidation's request and response times as the stored
// response's. Returns false, changing nothing, if !NotModifiedSelects(): the caller
// should fetch the resource again.
bool UpdateFromNotModified(boost::beast::http::fields& stored_response, const boost::beast::http::fields& not_modified,
                           HttpTime response_time);

// True if a response with `status` to an unsafe `method` (POST, PUT, DELETE, PATCH...)
// must invalidate what is stored for the target URI (RFC 9111 §4.4): a non-error status.
bool InvalidatesStored(boost::beast::http::verb method, unsigned status);

}  // namespace tacc::tacc_layer
