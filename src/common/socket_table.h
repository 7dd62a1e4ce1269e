// SocketTable: the established TCP connections of this host (this network namespace) to
// one local address and port, as the kernel's socket table knows them (NETLINK_SOCK_DIAG,
// inet_diag; what `ss -tn state established` reads).
//
// A front end answers a dispatcher that takes over with failover_state "rebuild" from it
// (LSNAT's rebuild of the connection map from the servers, in the clustering survey):
// every connection a dispatcher sent to this host is one of these sockets, and each
// socket knows the four things the dispatcher's data path needs: the client's address
// and port, and the window scale each side announced (TCP_INFO), which conntrack needs
// to follow a connection it did not see open.
//
// Needs no privilege. One dump per call; cost in proportion to the host's TCP sockets.
// Thread safety: a free function, no shared state.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"

namespace tacc {

struct EstablishedConnection {
  boost::asio::ip::address remote;  // the client
  uint16_t remote_port = 0;
  uint8_t remote_wscale = 0;  // window scale the client announced (tcpi_snd_wscale)
  uint8_t local_wscale = 0;   // window scale this host announced (tcpi_rcv_wscale)
};

// Established TCP connections whose local end is local:local_port (IPv4 or IPv6, by the
// address's family), at most `max` of them (*truncated set when there were more).
// Errors: Unavailable (no sock_diag in this kernel), Internal (netlink failed).
Result<std::vector<EstablishedConnection>> ListEstablishedTcp(const boost::asio::ip::address& local, uint16_t local_port, size_t max,
                                                              bool* truncated = nullptr);

}  // namespace tacc
