// StandbyLink: the heartbeat channel between the two dispatchers of a hot-standby pair.
//
// UDP, one socket bound to cluster.host at the port of frontdoor.standby_peer (both
// dispatchers use the same port), every datagram sealed with the cluster key
// (wire/datagram_seal.h, kind DATAGRAM_DISPATCH_HEARTBEAT). A datagram is taken only if
// it comes from the peer's address, carries a valid MAC, is fresh, and its seq is newer
// than the last taken from that incarnation; anything else is counted and dropped.
// Flows too many for one datagram are spread over several (each under
// beacon.max_datagram_bytes).
//
// Thread safety: none; lives on the dispatcher's event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::frontdoor {

class StandbyLink {
 public:
  using Handler = std::function<void(const wire::DispatchHeartbeat&)>;
  struct Counters {
    uint64_t sent = 0, received = 0, refused = 0;
  };

  static Result<std::unique_ptr<StandbyLink>> Open(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler);
  ~StandbyLink();
  void Start();
  void Stop();
  // Sends `hb` (its flows split over as many datagrams as they need; seq is set here).
  void Send(wire::DispatchHeartbeat hb);
  const Counters& counters() const { return counters_; }

 private:
  StandbyLink(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler, boost::asio::ip::udp::socket socket,
              boost::asio::ip::udp::endpoint peer);
  boost::asio::awaitable<void> ReceiveLoop();
  void SendOne(const wire::DispatchHeartbeat& hb);

  boost::asio::io_context& ctx_;
  Config config_;
  ClusterKey key_;
  Handler handler_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint peer_;
  uint64_t seq_ = 0;
  uint64_t peer_incarnation_ = 0, peer_seq_ = 0;
  Counters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tacc::frontdoor
