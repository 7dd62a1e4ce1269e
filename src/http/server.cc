#include "http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "common/metrics.h"

namespace tacc::http {

namespace asio = boost::asio;
namespace bhttp = beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
struct HttpCounters {
  Counter& requests = Metrics().counter("tacc_http_requests_total", "HTTP requests answered");
  Counter& bad_requests = Metrics().counter("tacc_http_bad_requests_total", "Malformed requests answered with 400");
  Counter& too_large = Metrics().counter("tacc_http_too_large_total", "Requests refused for header or body size (431/413)");
  Counter& timeouts = Metrics().counter("tacc_http_timeouts_total", "Connections closed for slowness or idleness");
  Counter& refused = Metrics().counter("tacc_http_refused_connections_total", "Connections refused above http.max_connections");
};
HttpCounters& Counters() {
  static HttpCounters c;
  return c;
}
}  // namespace

Response MakeResponse(const Request& req, bhttp::status status, std::string body, std::string_view content_type) {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "tacc");
  res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Server::Server(asio::io_context& ctx, ServerLimits limits, RequestHandler& handler)
    : ctx_(ctx), limits_(limits), handler_(handler), acceptor_(ctx), state_(std::make_shared<State>()) {}

Server::~Server() { Stop(); }

Status Server::Listen(const std::string& host, int port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("'" + host + "' is not an IP address");
  acceptor_.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
  acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  acceptor_.bind(tcp::endpoint(addr, static_cast<uint16_t>(port)), ec);
  if (ec) return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen: " + ec.message());
  asio::co_spawn(ctx_, AcceptLoop(), asio::detached);
  return Status::Ok();
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void Server::Stop() {
  if (!state_->alive) return;
  state_->alive = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto* s : state_->sockets) s->close(ec);  // their sessions wake up and end
}

asio::awaitable<void> Server::AcceptLoop() {
  auto state = state_;
  while (state->alive) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (!state->alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    if (state->open >= limits_.max_connections) {
      Counters().refused.Inc();
      static constexpr std::string_view kBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      boost::system::error_code wec;
      socket.non_blocking(true, wec);
      socket.write_some(asio::buffer(kBusy), wec);
      continue;
    }
    ServerLimits limits = limits_;
    asio::co_spawn(ctx_, Session(std::move(socket), limits, state), asio::detached);
  }
}

asio::awaitable<void> Server::Session(tcp::socket socket, ServerLimits limits, std::shared_ptr<State> state) {
  if (!state->alive) co_return;
  RequestInfo info;
  boost::system::error_code ec;
  info.remote = socket.remote_endpoint(ec);
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream stream(std::move(socket));
  ++state->open;
  state->sockets.insert(&stream.socket());
  struct Registration {
    State& state;
    tcp::socket* socket;
    ~Registration() {
      --state.open;
      state.sockets.erase(socket);
    }
  } registration{*state, &stream.socket()};
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
    parser.body_limit(static_cast<uint64_t>(limits.max_body_bytes));
    stream.expires_after(std::chrono::milliseconds(limits.idle_timeout_ms));
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
    boost::system::error_code rec = hec;
    if (!rec && !parser.is_done()) {
      stream.expires_after(std::chrono::milliseconds(limits.read_timeout_ms));
      auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
      rec = bec;
    }
    if (!state->alive) co_return;
    if (rec) {
      if (rec == bhttp::error::end_of_stream || rec == asio::error::eof || rec == asio::error::connection_reset) co_return;
      std::optional<Response> err;
      Request dummy;
      dummy.version(11);
      dummy.keep_alive(false);
      if (rec == beast::error::timeout) {
        Counters().timeouts.Inc();
        co_return;  // nothing polite to say to a client that went quiet
      } else if (rec == bhttp::error::header_limit) {
        Counters().too_large.Inc();
        err = MakeResponse(dummy, bhttp::status::request_header_fields_too_large,
                           "request head exceeds http.max_header_bytes=" + std::to_string(limits.max_header_bytes) + "\n");
      } else if (rec == bhttp::error::body_limit) {
        Counters().too_large.Inc();
        err = MakeResponse(dummy, bhttp::status::payload_too_large,
                           "request body exceeds http.max_body_bytes=" + std::to_string(limits.max_body_bytes) + "\n");
      } else {
        Counters().bad_requests.Inc();
        err = MakeResponse(dummy, bhttp::status::bad_request, "malformed HTTP request: " + rec.message() + "\n");
      }
      stream.expires_after(std::chrono::milliseconds(limits.write_timeout_ms));
      co_await bhttp::async_write(stream, *err, kUseTuple);
      stream.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    Request req = parser.release();
    stream.expires_never();
    Response res = co_await handler_.Handle(req, info);  // alive checked above: the handler exists
    if (!state->alive) co_return;
    Counters().requests.Inc();
    bool keep = req.keep_alive() && res.keep_alive();
    res.keep_alive(keep);
    res.prepare_payload();
    stream.expires_after(std::chrono::milliseconds(limits.write_timeout_ms));
    auto [wec, wn] = co_await bhttp::async_write(stream, res, kUseTuple);
    if (wec || !keep || !state->alive) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace tacc::http
