// BeaconListener: hears the manager's beacons, the only way components find it.
//
// Multicast mode joins beacon.group; unicast mode binds an ephemeral UDP port and keeps
// a subscription alive at each seed (beacon.unicast_seeds) so the manager sends beacons
// there. Beacons of other clusters and undecodable datagrams are dropped (counted).
// Thread safety: none; lives on one io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>

#include "common/config.h"
#include "wire/cluster.pb.h"
#include "wire/datagram_socket.h"

namespace tacc::sns {

class BeaconListener {
 public:
  using Handler = std::function<void(const wire::Beacon&)>;

  static Result<std::unique_ptr<BeaconListener>> Open(boost::asio::io_context& ctx, const Config& config, Handler handler);
  ~BeaconListener();
  void Start();
  void Stop();

 private:
  BeaconListener(boost::asio::io_context& ctx, const Config& config, Handler handler, wire::udp::socket socket);
  boost::asio::awaitable<void> ReceiveLoop();
  boost::asio::awaitable<void> SubscribeLoop();

  boost::asio::io_context& ctx_;
  const Config& config_;
  Handler handler_;
  wire::udp::socket socket_;
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
