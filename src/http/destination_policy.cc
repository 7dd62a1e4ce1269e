#include "http/destination_policy.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>

namespace tacc::http {

namespace ip = boost::asio::ip;

namespace {

struct V4Range {
  uint32_t base;
  int prefix;
  AddressClass cls;
};

constexpr uint32_t Q(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

// IPv4 special-purpose blocks (IANA registry, RFC 6890 and successors), most specific
// first where they nest.
constexpr std::array<V4Range, 18> kV4 = {{
    {Q(255, 255, 255, 255), 32, AddressClass::kBroadcast},
    {Q(0, 0, 0, 0), 8, AddressClass::kUnspecified},      // "this network"
    {Q(10, 0, 0, 0), 8, AddressClass::kPrivate},
    {Q(100, 64, 0, 0), 10, AddressClass::kShared},
    {Q(127, 0, 0, 0), 8, AddressClass::kLoopback},
    {Q(169, 254, 0, 0), 16, AddressClass::kLinkLocal},   // 169.254.169.254: cloud metadata
    {Q(172, 16, 0, 0), 12, AddressClass::kPrivate},
    {Q(192, 0, 0, 0), 24, AddressClass::kReserved},      // IETF protocol assignments
    {Q(192, 0, 2, 0), 24, AddressClass::kReserved},      // TEST-NET-1
    {Q(192, 31, 196, 0), 24, AddressClass::kReserved},   // AS112
    {Q(192, 52, 193, 0), 24, AddressClass::kReserved},   // AMT
    {Q(192, 88, 99, 0), 24, AddressClass::kReserved},    // 6to4 relay anycast (deprecated)
    {Q(192, 168, 0, 0), 16, AddressClass::kPrivate},
    {Q(198, 18, 0, 0), 15, AddressClass::kReserved},     // benchmarking
    {Q(198, 51, 100, 0), 24, AddressClass::kReserved},   // TEST-NET-2
    {Q(203, 0, 113, 0), 24, AddressClass::kReserved},    // TEST-NET-3
    {Q(224, 0, 0, 0), 4, AddressClass::kMulticast},
    {Q(240, 0, 0, 0), 4, AddressClass::kReserved},       // future use
}};

AddressClass ClassifyV4(uint32_t a) {
  for (const auto& r : kV4) {
    uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
    if ((a & mask) == r.base) return r.cls;
  }
  return AddressClass::kPublic;
}

uint32_t V4At(const ip::address_v6::bytes_type& b, size_t offset) {
  return uint32_t{b[offset]} << 24 | uint32_t{b[offset + 1]} << 16 | uint32_t{b[offset + 2]} << 8 | b[offset + 3];
}

bool AllZero(const ip::address_v6::bytes_type& b, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (b[i] != 0) return false;
  return true;
}

AddressClass ClassifyV6(const ip::address_v6& a) {
  auto b = a.to_bytes();
  if (a.is_unspecified()) return AddressClass::kUnspecified;
  if (a.is_loopback()) return AddressClass::kLoopback;
  // Forms that carry an IPv4 address: judged by it.
  if (a.is_v4_mapped()) return ClassifyV4(V4At(b, 12));                                 // ::ffff:a.b.c.d
  if (AllZero(b, 0, 12)) return ClassifyV4(V4At(b, 12));                                // ::a.b.c.d (deprecated)
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && AllZero(b, 4, 12))  // 64:ff9b::/96 NAT64
    return ClassifyV4(V4At(b, 12));
  if (b[0] == 0x20 && b[1] == 0x02) return ClassifyV4(V4At(b, 2));  // 2002::/16 6to4
  if (b[0] == 0xff) return AddressClass::kMulticast;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::kLinkLocal;  // fe80::/10
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::kPrivate;                    // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressClass::kPrivate;    // fec0::/10 site-local (deprecated)
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return AddressClass::kReserved;  // 2001:db8::/32 documentation
  if (b[0] == 0x01 && AllZero(b, 1, 8)) return AddressClass::kReserved;                            // 100::/64 discard-only
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0x00) return AddressClass::kReserved;  // 2001::/23 IETF protocol assignments
  return AddressClass::kPublic;
}

}  // namespace

const char* ToString(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic: return "public";
    case AddressClass::kUnspecified: return "unspecified";
    case AddressClass::kLoopback: return "loopback";
    case AddressClass::kPrivate: return "private";
    case AddressClass::kShared: return "shared (carrier-grade NAT)";
    case AddressClass::kLinkLocal: return "link-local";
    case AddressClass::kMulticast: return "multicast";
    case AddressClass::kBroadcast: return "broadcast";
    case AddressClass::kReserved: return "reserved";
  }
  return "?";
}

AddressClass Classify(const ip::address& a) {
  if (a.is_v4()) return ClassifyV4(a.to_v4().to_uint());
  return ClassifyV6(a.to_v6());
}

Result<NetworkList> NetworkList::Make(const std::vector<std::string>& cidrs) {
  NetworkList l;
  for (const auto& cidr : cidrs) {
    boost::system::error_code ec;
    auto n4 = ip::make_network_v4(cidr, ec);
    if (!ec) {
      l.v4_.push_back(n4.canonical());
      continue;
    }
    auto n6 = ip::make_network_v6(cidr, ec);
    if (!ec) {
      l.v6_.push_back(n6.canonical());
      continue;
    }
    return Status::InvalidArgument(fmt::format("'{}' is not a network in CIDR form (e.g. 10.1.0.0/16 or fd00::/8)", cidr));
  }
  return l;
}

bool NetworkList::Contains(const ip::address& a) const {
  std::optional<ip::address_v4> v4;
  if (a.is_v4()) v4 = a.to_v4();
  else if (a.to_v6().is_v4_mapped()) v4 = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (v4)
    for (const auto& n : v4_)
      if (n == ip::make_network_v4(*v4, n.prefix_length()).canonical()) return true;
  if (a.is_v6())
    for (const auto& n : v6_)
      if (n == ip::make_network_v6(a.to_v6(), n.prefix_length()).canonical()) return true;
  return false;
}

Result<DestinationPolicy> DestinationPolicy::Make(const std::vector<std::string>& allowed) {
  auto l = NetworkList::Make(allowed);
  if (!l.ok()) return l.status();
  DestinationPolicy p;
  p.allowed_ = std::move(*l);
  return p;
}

Status DestinationPolicy::Check(const ip::address& a) const {
  AddressClass c = Classify(a);
  if (c == AddressClass::kPublic || allowed_.Contains(a)) return Status::Ok();
  return Status::Forbidden(fmt::format("{} address {} is not a destination this proxy may connect to (allow its network in the settings)",
                                       ToString(c), a.to_string()));
}

}  // namespace tacc::http
