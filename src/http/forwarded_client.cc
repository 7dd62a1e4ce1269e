#include "http/forwarded_client.h"

#include <string_view>
#include <vector>

namespace tacc::http {

namespace {
constexpr size_t kMaxHops = 32;  // a longer chain is not read further (its left end is not trusted anyway)

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

boost::asio::ip::address ForwardedClient(const boost::beast::http::fields& fields, const boost::asio::ip::address& peer, const NetworkList& trusted) {
  if (!trusted.Contains(peer)) return peer;
  std::vector<std::string_view> hops;
  auto [first, last] = fields.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      if (comma == std::string_view::npos) comma = v.size();
      hops.push_back(Trim(v.substr(start, comma - start)));
      start = comma + 1;
    }
  }
  boost::asio::ip::address client = peer;
  size_t read = 0;
  for (auto h = hops.rbegin(); h != hops.rend() && read < kMaxHops; ++h, ++read) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(*h), ec);
    if (ec) break;  // "unknown", a port, garbage: the last hop we could read stands
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    client = a;
    if (!trusted.Contains(a)) break;
  }
  return client;
}

}  // namespace tacc::http
