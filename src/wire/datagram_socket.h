// UDP sockets for beacons: multicast senders/receivers and unicast sockets.
//
// Opening is synchronous (start-up only); the caller owns the socket and does the
// async I/O. Every packet is one SealedDatagram (wire/datagram_seal.h), at most
// beacon.max_datagram_bytes long (wire/beacon_split.h splits what is bigger).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>

#include <string>

#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::wire {

using udp = boost::asio::ip::udp;

// Receives datagrams sent to group:port, joined on the interface with address `iface`.
Result<udp::socket> OpenMulticastReceiver(const boost::asio::any_io_executor& ex, const std::string& group, int port,
                                          const std::string& iface);
// Sends multicast out of the interface with address `iface` (loopback delivery on).
Result<udp::socket> OpenMulticastSender(const boost::asio::any_io_executor& ex, const std::string& iface, int ttl);
// A unicast socket bound to host:port (port 0: any).
Result<udp::socket> OpenUnicastSocket(const boost::asio::any_io_executor& ex, const std::string& host, int port);

// "host:port" -> endpoint.
Result<udp::endpoint> ParseUdpEndpoint(const std::string& host_port);

}  // namespace tacc::wire
