// HTTP/1.1 server of the front ends: keep-alive, chunked bodies, limits on everything.
//
// One Server per event-loop thread; several bind the same port with SO_REUSEPORT and
// the kernel spreads connections over them. Each connection is one coroutine that reads
// a request (head within http.idle_timeout_ms, whole request within read_timeout_ms,
// head at most max_header_bytes -> 431, body at most max_body_bytes -> 413, garbage ->
// 400), awaits the RequestHandler and writes the answer. Nothing blocks the thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <string>
#include <unordered_set>

#include "common/status.h"

namespace tacc::http {

namespace beast = boost::beast;
using Request = beast::http::request<beast::http::string_body>;
using Response = beast::http::response<beast::http::string_body>;

struct ServerLimits {
  int max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 10 * 1024 * 1024;
  int idle_timeout_ms = 30000;
  int read_timeout_ms = 10000;
  int write_timeout_ms = 30000;
  int max_connections = 10000;
};

struct RequestInfo {
  boost::asio::ip::tcp::endpoint remote;
};

// What the server calls for each request. Implementations live on one thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual boost::asio::awaitable<Response> Handle(Request& request, const RequestInfo& info) = 0;
};

class Server {
 public:
  Server(boost::asio::io_context& ctx, ServerLimits limits, RequestHandler& handler);
  ~Server();
  // Binds host:port (port 0: any) with SO_REUSEPORT and starts accepting.
  Status Listen(const std::string& host, int port);
  uint16_t port() const;
  // Stops accepting and closes every open connection (call on the server's thread).
  void Stop();

 private:
  // What sessions share with the server; sessions may outlive it, so it is shared.
  struct State {
    bool alive = true;
    int open = 0;
    std::unordered_set<boost::asio::ip::tcp::socket*> sockets;  // to close on Stop()
  };
  boost::asio::awaitable<void> AcceptLoop();
  // Everything a session needs is in its parameters: it must not touch `this` unless
  // state->alive says the server still exists.
  boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket, ServerLimits limits, std::shared_ptr<State> state);

  boost::asio::io_context& ctx_;
  ServerLimits limits_;
  RequestHandler& handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<State> state_;
};

// A small response with the given status, content type and body; keep-alive follows `req`.
Response MakeResponse(const Request& req, beast::http::status status, std::string body,
                      std::string_view content_type = "text/plain; charset=utf-8");

}  // namespace tacc::http
