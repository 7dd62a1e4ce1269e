// RelayServer: the relay mode's listener. Each connection to the cluster address gets a
// back end from the policy (ConnectToBackend: tries another on a refused or slow
// connect) and is relayed to it with splice(2) (SpliceRelay). "Pending" (for
// frontdoor.max_pending, ClusterListener) is a connection not yet connected to a back end.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "common/config.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/cluster_listener.h"
#include "frontdoor/dispatcher.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class RelayServer : public ModeServer {
 public:
  RelayServer(boost::asio::io_context& ctx, const Config::Frontdoor& settings, BackendTable& table, PickPolicy& policy);
  ~RelayServer() override;
  Status Start() override;
  void Stop() override;

 private:
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket client);

  boost::asio::io_context& ctx_;
  Config::Frontdoor settings_;
  BackendTable& table_;
  PickPolicy& policy_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int open_ = 0, pending_ = 0;
  ClusterListener listener_;
};

}  // namespace tacc::frontdoor
