// The kernel's neighbour (ARP) table, as the dsr data path needs it: the MAC address a
// back end's IPv4 address has on the dispatcher's interface, so frames for it can be
// addressed there (dsr rewrites only the destination MAC).
//
// Everything here works in the network namespace of the calling thread (rtnetlink
// sockets belong to the namespace they were opened in), so a test's RunIn thread sees
// its host's table. Blocking calls, bounded in time: run them off the event loop.
#pragma once

#include <boost/asio/ip/address_v4.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "frontdoor/backend.h"

namespace tacc::frontdoor {

// `ip`'s MAC on `interface` if the table holds a usable one (reachable, stale, delay,
// probe, permanent); nullopt if it holds none (absent, incomplete, failed). Errors:
// NotFound for an unknown interface, Internal when rtnetlink fails.
Result<std::optional<MacAddress>> LookupNeighbor(const std::string& interface, boost::asio::ip::address_v4 ip);

// `ip`'s MAC on `interface`, resolving it first if the table has none: the kernel is
// asked to resolve the entry (RTM_NEWNEIGH with NTF_USE: it sends ARP requests, no packet
// of ours goes to the host) and the table is read again until it has an answer or
// `timeout` has passed. Errors: Timeout when nothing answered (no such host on the link),
// NotFound for an unknown interface, Internal when rtnetlink fails.
Result<MacAddress> ResolveNeighbor(const std::string& interface, boost::asio::ip::address_v4 ip, std::chrono::milliseconds timeout);

// Resolves several at once: `on_result` is called for each as soon as its MAC is known,
// and with Timeout for each still unknown after `timeout`, all on the calling thread.
// Errors (NotFound, Internal) end it early, for the ones not yet reported.
Status ResolveNeighbors(const std::string& interface, std::vector<boost::asio::ip::address_v4> ips, std::chrono::milliseconds timeout,
                        const std::function<void(boost::asio::ip::address_v4, Result<MacAddress>)>& on_result);

// "02:00:00:00:00:0a"
std::string FormatMac(const MacAddress& mac);

}  // namespace tacc::frontdoor
