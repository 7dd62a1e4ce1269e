// HTTP/1.1 server of the front ends: keep-alive, chunked bodies, limits on everything.
//
// One Server per event-loop thread; several bind the same port with SO_REUSEPORT and
// the kernel spreads connections over them. Each connection is one coroutine that waits
// for the first byte of a request (http.idle_timeout_ms), then reads the whole request,
// head and body, under ONE deadline from that byte (http.read_timeout_ms; a client that
// trickles bytes does not renew it), head at most max_header_bytes -> 431, body at most
// max_body_bytes -> 413, garbage -> 400; then awaits the RequestHandler and writes the
// answer. Nothing blocks the thread.
//
// Limits that protect the whole front end live in a ServerBudget shared by all its
// Servers (one per thread): open connections (above max_connections a new connection
// gets a 503 and is closed at once) and request bytes held in memory across connections
// (above max_buffered_bytes the request that would go over gets a 503 and its
// connection is closed). An idle keep-alive connection holds no buffer: its coroutine
// waits for readability with a small frame, and the parser exists only while a request
// is read, so idle connections cost little memory.
//
// Orderly stop (front-end hand-over, see docs/design.md): StopAccepting() leaves the
// listening sockets open (the kernel keeps queueing connections on them) so that their
// descriptors can be handed to a successor; Drain() answers requests in flight with
// `Connection: close`; Stop() closes everything at once.
//
// Thread safety: a Server and its sessions live on its io_context's thread; call every
// method there. ServerBudget is thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"

namespace tacc::http {

namespace beast = boost::beast;
using Request = beast::http::request<beast::http::string_body>;
using Response = beast::http::response<beast::http::string_body>;

struct ServerLimits {
  int max_header_bytes = 16 * 1024;
  int64_t max_body_bytes = 10 * 1024 * 1024;
  int idle_timeout_ms = 30000;   // waiting for the first byte of a request
  int read_timeout_ms = 10000;   // the whole request (head and body) from its first byte
  int write_timeout_ms = 30000;
  int max_connections = 10000;                       // per ServerBudget
  int64_t max_buffered_bytes = int64_t{256} << 20;  // per ServerBudget
};

// Open connections and buffered request bytes of one front end, shared by its Servers.
class ServerBudget {
 public:
  ServerBudget(int max_connections, int64_t max_buffered_bytes) : max_connections_(max_connections), max_buffered_(max_buffered_bytes) {}
  explicit ServerBudget(const ServerLimits& l) : ServerBudget(l.max_connections, l.max_buffered_bytes) {}
  // Counts a new connection; false (and nothing counted) at max_connections.
  bool TryOpen();
  void Closed();
  // Adds `delta` request bytes (negative: gives them back). False when a positive delta
  // takes the total above max_buffered_bytes; the bytes are counted anyway and the
  // caller gives them back when it drops the request.
  bool Charge(int64_t delta);
  int open() const { return open_.load(std::memory_order_relaxed); }
  int64_t buffered() const { return buffered_.load(std::memory_order_relaxed); }

 private:
  const int max_connections_;
  const int64_t max_buffered_;
  std::atomic<int> open_{0};
  std::atomic<int64_t> buffered_{0};
};

struct RequestInfo {
  boost::asio::ip::tcp::endpoint remote;  // the socket's peer
  // The client: remote's address, or, when remote is a trusted proxy
  // (http.trusted_proxies), the address it forwarded for (X-Forwarded-For; ForwardedClient).
  boost::asio::ip::address client;
};

// A response body produced piece by piece (e.g. streamed from an origin), so that the
// front end holds one piece at a time whatever the body's size.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next piece; empty: the body is complete. The view stays valid until the next
  // call. An error: the body can't be completed; the server closes the connection, so
  // the client sees a truncated body, never a wrong one.
  virtual boost::asio::awaitable<Result<std::string_view>> Next() = 0;
};

// Takes a connection over after its response head has been written (a CONNECT tunnel).
class ConnectionTakeover {
 public:
  virtual ~ConnectionTakeover() = default;
  // `unread`: bytes the client sent after its request, already read by the server.
  // The server closes the connection when this returns.
  virtual boost::asio::awaitable<void> Run(boost::asio::ip::tcp::socket& client, beast::flat_buffer& unread) = 0;
};

// What a handler answers: a response, and optionally where its body comes from or who
// takes the connection over afterwards.
struct Reply {
  Reply(Response r) : response(std::move(r)) {}  // NOLINT: a plain response is a reply
  Response response;
  // Set: the body comes from here and response.body() is ignored. Framed by the
  // response's Content-Length if it has one (a source that gives fewer or more bytes
  // ends the connection), else chunked (HTTP/1.1) or by closing (HTTP/1.0).
  std::unique_ptr<BodySource> body;
  // Set (with a 2xx response to CONNECT): the head is written without framing and the
  // connection is handed over; it is never reused for requests.
  std::unique_ptr<ConnectionTakeover> takeover;
};

// What the server calls for each request. Implementations live on one thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual boost::asio::awaitable<Reply> Handle(Request& request, const RequestInfo& info) = 0;
};

class Server {
 public:
  // `budget` may be shared with other Servers (other threads); null: one of its own.
  Server(boost::asio::io_context& ctx, ServerLimits limits, RequestHandler& handler, std::shared_ptr<ServerBudget> budget = nullptr);
  ~Server();
  // Binds host:port (port 0: any) and starts accepting. May be called again to accept
  // on several sockets. reuse_port: SO_REUSEPORT, for the threads of one front end to
  // share a port (the per-index lock keeps other processes off it).
  Status Listen(const std::string& host, int port, bool reuse_port = true);
  // Takes over `fd`, a listening TCP socket (e.g. handed over by a predecessor), and
  // starts accepting on it. The fd is owned by the server from then on, even on failure.
  Status Adopt(int fd);
  // Descriptors of the listening sockets (still owned by the server), to hand over.
  std::vector<int> listener_fds() const;
  uint16_t port() const;

  // Stops taking connections; the listening sockets stay open and the kernel keeps
  // queueing connections on them. A connection already accepted is still served.
  void StopAccepting();
  void ResumeAccepting();
  void CloseListeners();
  // From now on every answer says `Connection: close`. close_idle: also close at once
  // the connections that wait for their next request; otherwise they get their next
  // request answered (with close), so that no client's request meets a closing socket.
  void Drain(bool close_idle);
  int open_connections() const { return state_->open; }
  // Stops accepting and closes every open connection at once.
  void Stop();

 private:
  struct Conn;
  // What sessions share with the server; sessions may outlive it, so it is shared.
  struct State {
    bool alive = true;
    bool draining = false;
    bool close_idle = false;
    uint64_t accept_gen = 0;  // accept loops of an older generation end
    int open = 0;
    std::unordered_set<Conn*> conns;  // to close on Stop(), and idle ones on Drain()
  };
  Status StartListening(std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor);
  boost::asio::awaitable<void> AcceptLoop(boost::asio::ip::tcp::acceptor& acceptor, uint64_t gen);
  // Everything a session needs is in its parameters: it must not touch `this` unless
  // state->alive says the server still exists.
  static boost::asio::awaitable<void> Session(std::shared_ptr<Conn> conn, ServerLimits limits, std::shared_ptr<State> state,
                                              std::shared_ptr<ServerBudget> budget, RequestHandler* handler);
  // Reads one request (its first byte is there), answers it; false: close the connection.
  static boost::asio::awaitable<bool> ServeOne(const std::shared_ptr<Conn>& conn, beast::flat_buffer& buffer, const ServerLimits& limits,
                                               State& state, ServerBudget& budget, RequestHandler* handler, const RequestInfo& info);
  // Writes a reply whose body comes from a BodySource; false: close the connection.
  static boost::asio::awaitable<bool> WriteStreamed(const std::shared_ptr<Conn>& conn, const ServerLimits& limits, State& state,
                                                    const Request& req, Reply& reply, bool keep);

  boost::asio::io_context& ctx_;
  ServerLimits limits_;
  RequestHandler& handler_;
  std::shared_ptr<ServerBudget> budget_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::shared_ptr<State> state_;
};

// A message head as it goes on the wire: start line, field lines, empty line. The same
// bytes as Beast's serializer, in one string, so that head and body go out in one
// gather write.
std::string SerializeHead(const beast::http::request_header<>& head);
std::string SerializeHead(const beast::http::response_header<>& head);

// A small response with the given status, content type and body; keep-alive follows `req`.
Response MakeResponse(const Request& req, beast::http::status status, std::string body,
                      std::string_view content_type = "text/plain; charset=utf-8");

}  // namespace tacc::http
