// ClusterListener: the user-space modes' (relay, l7) listening socket on the cluster
// address, and their accept loop with the front door's connection limits.
//
// It binds frontdoor.address:port with IP_FREEBIND (a standby of a pair listens before
// the address is on its host) and a backlog of frontdoor.max_pending (which bounds
// half-open connections in the kernel); each accepted connection goes to `serve` unless
// the mode already holds frontdoor.max_connections open or max_pending not yet
// forwarded, in which case it is closed at once and counted
// (tacc_dispatch_refused_total).
//
// Thread safety: none; lives on the dispatcher's event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/status.h"

namespace tacc::frontdoor {

class ClusterListener {
 public:
  using Serve = std::function<void(boost::asio::ip::tcp::socket)>;
  // `open`, `pending`: the mode's own counts, read at each accept.
  ClusterListener(boost::asio::io_context& ctx, const Config::Frontdoor& settings, const int& open, const int& pending, Serve serve);
  ~ClusterListener();
  // `what` names the mode in the log line.
  Status Start(const std::string& what);
  void Stop();
  // The port bound (frontdoor.port, or the one the kernel chose for 0); 0 before Start.
  uint16_t port() const;

 private:
  boost::asio::awaitable<void> AcceptLoop();

  boost::asio::io_context& ctx_;
  Config::Frontdoor settings_;
  const int& open_;
  const int& pending_;
  Serve serve_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tacc::frontdoor
