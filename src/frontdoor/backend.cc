#include "frontdoor/backend.h"

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace tacc::frontdoor {

std::string BackendSpec::Id() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<BackendSpec> ParseBackendSpec(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("back end '{}': {} (expected host:port or host:port*weight, host a numeric address)", text, why));
  };
  BackendSpec spec;
  std::string_view rest = text;
  if (auto star = rest.rfind('*'); star != std::string_view::npos) {
    std::string w(rest.substr(star + 1));
    char* end = nullptr;
    double weight = std::strtod(w.c_str(), &end);
    if (w.empty() || end != w.c_str() + w.size() || !std::isfinite(weight) || weight <= 0 || weight > 1e6) return bad("weight must be a number in (0, 1e6]");
    spec.weight = weight;
    rest = rest.substr(0, star);
  }
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') return bad("unclosed [IPv6] or no port");
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("write an IPv6 address as [addr]:port");
  }
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return bad("host is not a numeric IP address");
  unsigned p = 0;
  auto [ptr, err] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (err != std::errc{} || ptr != port.data() + port.size() || p == 0 || p > 65535) return bad("port must be 1..65535");
  spec.host = addr.to_string();
  spec.port = static_cast<uint16_t>(p);
  return spec;
}

const char* ToString(Health h) {
  switch (h) {
    case Health::kUp: return "up";
    case Health::kTesting: return "testing";
  }
  return "?";
}

}  // namespace tacc::frontdoor
