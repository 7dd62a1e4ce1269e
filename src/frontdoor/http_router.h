// HttpRouter: the l7 mode. Parses every HTTP/1.1 request on a client connection (each
// one of a keep-alive connection on its own), asks the policy for a back end with the
// request's target (Host + path: LARD and bounded-load hashing route by it), and relays
// the request and its answer, streaming bodies in both directions.
//
// Requests are re-framed, never passed through as bytes: the head is parsed by Beast
// under the front end's own limits (http.max_header_bytes -> 431, http.max_body_bytes ->
// 413, garbage -> 400), a request with both Content-Length and Transfer-Encoding, or a
// Transfer-Encoding other than chunked, is refused with 400 (the classic smuggling
// shapes), and what goes to the back end is serialized afresh from the parsed message.
// So the dispatcher and the front end can never disagree on where a request ends.
//
// Back-end connections are kept for reuse per back end (up to kMaxIdlePerBackend). Those
// the back ends close while idle are swept out every kIdleSweep (one poll() over all of
// them), not checked one by one when taken: a bodiless GET, HEAD or OPTIONS sent on one
// found dead (closed before an answer began) is sent again, once, on a fresh connection,
// as nothing of it can have been served; any other request checks the connection it
// takes first (one poll), since it could not be sent twice. A connect that fails is
// passive health evidence and the request goes to another back end; a back end that
// fails after the request was sent gets the client a 502.
// 101 Switching Protocols turns the connection into a byte tunnel (SpliceRelay).
//
// Deadlines: a watchdog coroutine beside each client connection closes it when its
// current phase's deadline passes (http.idle_timeout_ms waiting for a request,
// http.read_timeout_ms reading one, proxy.read_timeout_ms for the answer); a back end that
// sends no answer head in time is closed alone and the client gets a 504.
//
// Cost per keep-alive request (the figure HAProxy http is measured against): two reads
// and two writes (and Asio's speculative read of the answer, which finds nothing yet),
// no allocation for the heads (RelayParser writes them into strings kept
// per client connection), no copy of a small body (it is written from the read buffer,
// together with the head).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/cluster_listener.h"
#include "frontdoor/dispatcher.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

class HttpRouter : public ModeServer {
 public:
  static constexpr size_t kMaxIdlePerBackend = 32;
  static constexpr std::chrono::milliseconds kIdleSweep{1000};

  HttpRouter(boost::asio::io_context& ctx, const Config& config, BackendTable& table, PickPolicy& policy);
  ~HttpRouter() override;
  Status Start() override;
  void Stop() override;
  uint16_t port() const { return listener_.port(); }
  // Kept back-end connections now (all back ends). Event-loop thread only.
  size_t idle_connections() const;

 private:
  struct Exchange;
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket client);
  // A kept connection to back end `id`, if any; `check`: only one the back end has not
  // closed (a poll of each one taken).
  std::optional<boost::asio::ip::tcp::socket> TakeIdle(const std::string& id, bool check);
  void Release(const std::string& id, boost::asio::ip::tcp::socket socket);
  // Drops the kept connections the back ends closed (or sent on unasked) since.
  void SweepIdle();
  boost::asio::awaitable<void> SweepLoop();

  boost::asio::io_context& ctx_;
  Config config_;
  BackendTable& table_;
  PickPolicy& policy_;
  std::map<std::string, std::vector<boost::asio::ip::tcp::socket>> idle_;
  boost::asio::steady_timer sweep_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int open_ = 0, pending_ = 0;  // pending: accepted, no whole request head yet
  ClusterListener listener_;
};

}  // namespace tacc::frontdoor
