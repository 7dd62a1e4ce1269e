#include "tacc/user_token.h"

#include "common/text.h"

#include <openssl/rand.h>

#include <array>

namespace tacc::tacc_layer {

namespace bhttp = boost::beast::http;

bool IsWellFormedUserToken(std::string_view value) {
  if (value.size() != 32) return false;
  for (char c : value) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> NewUserToken() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return Status::Internal("user token: RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  token.reserve(32);
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  return token;
}

std::vector<std::string_view> CookieValues(std::string_view header, std::string_view name) {
  std::vector<std::string_view> values;
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (TrimOws(pair.substr(0, eq)) != name) continue;
    std::string_view value = TrimOws(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    values.push_back(value);
  }
  return values;
}

std::optional<std::string> UserTokenFromCookies(const bhttp::fields& headers, std::string_view cookie_name) {
  if (cookie_name.empty()) return std::nullopt;
  auto [begin, end] = headers.equal_range(bhttp::field::cookie);
  for (auto it = begin; it != end; ++it) {
    std::string_view header(it->value().data(), it->value().size());
    for (std::string_view v : CookieValues(header, cookie_name)) {
      if (IsWellFormedUserToken(v)) return std::string(v);
    }
  }
  return std::nullopt;
}

std::string AddressUserToken(const boost::asio::ip::address& client) {
  if (client.is_v6() && client.to_v6().is_v4_mapped()) {
    return "addr:" + boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, client.to_v6()).to_string();
  }
  return "addr:" + client.to_string();
}

std::string UserTokenOf(const bhttp::fields& headers, const boost::asio::ip::address& client, std::string_view cookie_name) {
  if (auto token = UserTokenFromCookies(headers, cookie_name)) return std::move(*token);
  return AddressUserToken(client);
}

std::string UserTokenOf(const bhttp::fields& headers, const boost::asio::ip::address& client) {
  return UserTokenOf(headers, client, kDefaultUserCookie);
}

std::string UserTokenSetCookie(std::string_view token, std::string_view cookie_name) {
  std::string v(cookie_name);
  v += '=';
  v += token;
  v += "; Path=/; Max-Age=" + std::to_string(kUserCookieMaxAgeSeconds) + "; HttpOnly; SameSite=Lax";
  return v;
}

std::string UserTokenSetCookie(std::string_view token) { return UserTokenSetCookie(token, kDefaultUserCookie); }

}  // namespace tacc::tacc_layer
