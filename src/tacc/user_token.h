// User tokens: which user a request belongs to, the key of the customization database
// (SNS paper §3.1; ARCHITECTURE.md, Profiles).
//
// A user is named by a cookie the front end set earlier (default name "tacc_user"),
// whose value is 128 random bits as 32 lowercase hex digits. A request without a
// well-formed cookie falls back to its client's address ("addr:" + IP), so that clients
// that refuse cookies still get per-address preferences. The cookie value is untrusted
// input: anything but 32 lowercase hex digits is ignored, never stored.
//
// Pure functions, thread-safe; NewUserToken draws from OpenSSL's CSPRNG.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/fields.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tacc::tacc_layer {

inline constexpr std::string_view kDefaultUserCookie = "tacc_user";
inline constexpr int kUserCookieMaxAgeSeconds = 365 * 24 * 3600;

// True for exactly 32 lowercase hex digits (what NewUserToken makes).
bool IsWellFormedUserToken(std::string_view value);

// A fresh token: 128 bits from RAND_bytes as 32 lowercase hex digits. Internal if the
// CSPRNG fails (it does not, once seeded).
Result<std::string> NewUserToken();

// The values of every cookie named `name` in one Cookie header value, in order.
// Tolerant of what clients send: pairs split on ';', spaces and tabs around names and
// values, values in double quotes (unquoted), pairs without '=' skipped.
std::vector<std::string_view> CookieValues(std::string_view cookie_header, std::string_view name);

// The first well-formed user token among the cookies named `cookie_name` in all Cookie
// fields of `headers`, if any.
std::optional<std::string> UserTokenFromCookies(const boost::beast::http::fields& headers, std::string_view cookie_name);

// "addr:" + the client's address (an IPv4-mapped IPv6 address as plain IPv4, so a
// dual-stack listener names a client the same way as an IPv4 one).
std::string AddressUserToken(const boost::asio::ip::address& client);

// The request's user token: the cookie's if well-formed, else AddressUserToken(client).
std::string UserTokenOf(const boost::beast::http::fields& headers, const boost::asio::ip::address& client, std::string_view cookie_name);
std::string UserTokenOf(const boost::beast::http::fields& headers, const boost::asio::ip::address& client);

// The Set-Cookie field value that gives the client `token` for a year:
// "tacc_user=<token>; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax".
std::string UserTokenSetCookie(std::string_view token, std::string_view cookie_name);
std::string UserTokenSetCookie(std::string_view token);

}  // namespace tacc::tacc_layer
