#include "wire/datagram_socket.h"

#include <boost/asio/ip/multicast.hpp>

namespace tacc::wire {

namespace asio = boost::asio;

Result<udp::socket> OpenMulticastReceiver(const asio::any_io_executor& ex, const std::string& group, int port,
                                          const std::string& iface) {
  boost::system::error_code ec;
  auto g = asio::ip::make_address_v4(group, ec);
  if (ec || !g.is_multicast()) return Status::InvalidArgument("beacon.group '" + group + "' is not an IPv4 multicast address");
  auto i = asio::ip::make_address_v4(iface, ec);
  if (ec) return Status::InvalidArgument("beacon.interface '" + iface + "' is not an IPv4 address");
  udp::socket s(ex);
  s.open(udp::v4(), ec);
  if (ec) return Status::Internal("udp socket: " + ec.message());
  s.set_option(udp::socket::reuse_address(true), ec);
  s.bind(udp::endpoint(g, static_cast<uint16_t>(port)), ec);
  if (ec) return Status::Unavailable("bind beacon port " + std::to_string(port) + ": " + ec.message());
  s.set_option(asio::ip::multicast::join_group(g, i), ec);
  if (ec) return Status::Unavailable("join multicast group " + group + " on " + iface + ": " + ec.message());
  return s;
}

Result<udp::socket> OpenMulticastSender(const asio::any_io_executor& ex, const std::string& iface, int ttl) {
  boost::system::error_code ec;
  auto i = asio::ip::make_address_v4(iface, ec);
  if (ec) return Status::InvalidArgument("beacon.interface '" + iface + "' is not an IPv4 address");
  udp::socket s(ex);
  s.open(udp::v4(), ec);
  if (ec) return Status::Internal("udp socket: " + ec.message());
  s.set_option(asio::ip::multicast::outbound_interface(i), ec);
  if (ec) return Status::Unavailable("multicast interface " + iface + ": " + ec.message());
  s.set_option(asio::ip::multicast::hops(ttl), ec);
  s.set_option(asio::ip::multicast::enable_loopback(true), ec);
  return s;
}

Result<udp::socket> OpenUnicastSocket(const asio::any_io_executor& ex, const std::string& host, int port) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("'" + host + "' is not an IP address");
  udp::socket s(ex);
  s.open(a.is_v4() ? udp::v4() : udp::v6(), ec);
  if (ec) return Status::Internal("udp socket: " + ec.message());
  s.bind(udp::endpoint(a, static_cast<uint16_t>(port)), ec);
  if (ec) return Status::Unavailable("bind udp " + host + ":" + std::to_string(port) + ": " + ec.message());
  return s;
}

Result<udp::endpoint> ParseUdpEndpoint(const std::string& hp) {
  auto colon = hp.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("'" + hp + "': expected host:port");
  boost::system::error_code ec;
  auto a = asio::ip::make_address(hp.substr(0, colon), ec);
  int port = std::atoi(hp.c_str() + colon + 1);
  if (ec || port <= 0 || port > 65535) return Status::InvalidArgument("'" + hp + "': expected host:port");
  return udp::endpoint(a, static_cast<uint16_t>(port));
}

}  // namespace tacc::wire
