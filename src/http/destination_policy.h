// DestinationPolicy: which addresses the proxy may connect to on a client's behalf (SSRF
// defence for TranSend's forward proxy and URL API, issue 7).
//
// The check is made on the resolved address that is actually connected to, never on
// the name or the URL's text, so every spelling of an address (0.0.0.0, 2130706433,
// 0177.0.0.1, 0x7f.1, [::ffff:127.0.0.1], a name that resolves to 10.0.0.5) meets the
// same rule, and each redirect hop is checked again by whoever connects for it.
//
// Classify() names the kind of an address: public, or one of the special-purpose ranges
// of RFC 6890 and its successors (loopback, private, shared CGNAT, link-local — which
// holds the cloud metadata address 169.254.169.254 —, unique-local, multicast,
// unspecified, documentation and other reserved blocks). IPv6 forms that embed an IPv4
// address (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16) are
// classified by the IPv4 address inside. Check() allows public addresses, and others
// only if they fall in one of the networks the operator allowed (CIDR, e.g. for an
// origin on a private network).
//
// Pure logic; thread-safe once built.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <string>
#include <vector>

#include "common/status.h"

namespace tacc::http {

enum class AddressClass {
  kPublic,
  kUnspecified,    // 0.0.0.0/8, ::
  kLoopback,       // 127.0.0.0/8, ::1
  kPrivate,        // 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local)
  kShared,         // 100.64.0.0/10 (carrier-grade NAT)
  kLinkLocal,      // 169.254.0.0/16 (cloud metadata lives here), fe80::/10
  kMulticast,      // 224.0.0.0/4, ff00::/8
  kBroadcast,      // 255.255.255.255
  kReserved,       // documentation, benchmarking, IETF protocol assignments, 240/4, discard-only, ...
};
const char* ToString(AddressClass c);

AddressClass Classify(const boost::asio::ip::address& a);

// A set of CIDR networks ("10.1.0.0/16", "::1/128"; host bits are ignored). An IPv4
// network also contains that address in IPv4-mapped IPv6 form (::ffff:10.1.0.5), as a
// dual-stack socket reports it.
class NetworkList {
 public:
  // InvalidArgument names a bad entry.
  static Result<NetworkList> Make(const std::vector<std::string>& cidrs);
  bool Contains(const boost::asio::ip::address& a) const;

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

class DestinationPolicy {
 public:
  // `allowed`: networks where non-public addresses are allowed anyway.
  static Result<DestinationPolicy> Make(const std::vector<std::string>& allowed);

  // Ok for a public address or one in an allowed network; Forbidden otherwise, with a
  // message that names the class ("loopback address 127.0.0.1 ...").
  Status Check(const boost::asio::ip::address& a) const;

 private:
  NetworkList allowed_;
};

}  // namespace tacc::http
