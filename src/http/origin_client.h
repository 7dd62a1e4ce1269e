// OriginClient: fetches requests from origin servers for the proxy (issue 7).
//
// Open() sends a request (framed by us: Beast sets Content-Length or chunking) on a
// pooled connection to the endpoint (OriginPool: per-origin limits, kept connections),
// or a new one (OriginConnection: async DNS, the SSRF policy on the address connected
// to, TLS with verification and SNI), and reads the response head within
// read_timeout_ms. A kept connection that turns out dead before any answer byte is
// replaced once by a new one, for idempotent methods only. The answer's body is then
// either read whole (ReadAll, at most max_body_bytes: for workers and small pages) or
// streamed (the OriginResponse is an http::BodySource: one piece of at most
// stream_piece_bytes in memory, each piece due within read_timeout_ms). The connection
// goes back to the pool once its body has been read whole and both sides keep it alive.
//
// Errors come back as a Status the proxy turns into a clear page: Forbidden
// (destination refused), Unavailable (cannot resolve or connect, TLS failure, the origin
// broke the connection), Timeout, Protocol (the answer is not HTTP, or lies about its
// length), InvalidArgument (body over max_body_bytes).
//
// Thread safety: one client per event-loop thread; everything runs on the caller's
// executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/destination_policy.h"
#include "http/origin_connection.h"
#include "http/origin_pool.h"
#include "http/server.h"

namespace tacc::http {

struct OriginLimits {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 30000;  // head; each streamed piece; a body read whole
  int64_t max_body_bytes = 64 << 20;
  int max_header_bytes = 64 * 1024;
  size_t stream_piece_bytes = 64 * 1024;
  OriginPoolLimits pool;
};

// An answer whose head has been read; its body is read whole or streamed.
class OriginResponse : public BodySource {
 public:
  ~OriginResponse() override;
  const boost::beast::http::response_header<>& head() const { return parser_->get().base(); }
  boost::beast::http::response_header<>& head() { return parser_->get().base(); }
  // The whole body (at most the client's max_body_bytes, else InvalidArgument).
  boost::asio::awaitable<Result<std::string>> ReadAll();
  // At most `limit` bytes of the body; *complete tells whether that was all of it (if
  // not, the rest can still be streamed with Next(), e.g. behind a PrefixedBody).
  boost::asio::awaitable<Result<std::string>> ReadUpTo(size_t limit, bool* complete);
  // BodySource: the next piece of the body, empty at its end.
  boost::asio::awaitable<Result<std::string_view>> Next() override;
  bool connection_reused() const { return lease_.reused(); }
  // The body's length as the head announces it (none: chunked or until close).
  std::optional<uint64_t> content_length() const {
    auto n = parser_->content_length();
    return n ? std::optional<uint64_t>(*n) : std::nullopt;
  }

 private:
  friend class OriginClient;
  OriginResponse(OriginLimits limits, std::string where, bool head_request) : limits_(limits), where_(std::move(where)), head_request_(head_request) {}
  void Finish();  // body read whole: the connection may go back to the pool
  boost::asio::awaitable<Result<std::string_view>> NextPiece(size_t max);
  // Reads at most `max` (> 0) body bytes into `dst`; 0: the body is complete (Finish()
  // has run). A body framed by Content-Length is read straight from the socket into
  // `dst` (after what the head's read already holds); a chunked one or one that ends
  // with the connection goes through the parser and the connection's buffer.
  boost::asio::awaitable<Result<size_t>> ReadBody(char* dst, size_t max);
  void Fail() {  // the connection is useless now
    lease_ = OriginPool::Lease();
    done_ = true;
  }
  Status ReadError(const boost::system::error_code& ec, bool in_body) const;

  OriginLimits limits_;
  std::string where_;
  bool head_request_;
  OriginPool::Lease lease_;
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> parser_;
  // Body bytes still to come when the head announced a length (read without the parser).
  std::optional<uint64_t> remaining_;
  std::unique_ptr<char[]> piece_;  // NextPiece's buffer, stream_piece_bytes, not zeroed
  bool done_ = false;
  bool client_keep_alive_ = true;
};

// A body that starts with bytes already read and goes on with the rest of a source.
class PrefixedBody : public BodySource {
 public:
  PrefixedBody(std::string prefix, std::unique_ptr<BodySource> rest) : prefix_(std::move(prefix)), rest_(std::move(rest)) {}
  boost::asio::awaitable<Result<std::string_view>> Next() override;

 private:
  std::string prefix_;
  bool prefix_sent_ = false;
  std::unique_ptr<BodySource> rest_;
};

class OriginClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `tls`: for https endpoints (null: they are refused).
  OriginClient(OriginLimits limits, DestinationPolicy policy, std::shared_ptr<boost::asio::ssl::context> tls = nullptr);

  // Sends `request` (origin-form target, Host set) and reads the answer's head.
  boost::asio::awaitable<Result<std::unique_ptr<OriginResponse>>> Open(OriginEndpoint where, Request request);
  // Open() and ReadAll() in one.
  boost::asio::awaitable<Result<Response>> Fetch(OriginEndpoint where, Request request);
  // Plain-HTTP convenience.
  boost::asio::awaitable<Result<Response>> Fetch(const std::string& host, uint16_t port, Request request) {
    return Fetch(OriginEndpoint{false, host, port}, std::move(request));
  }

  const OriginPool& pool() const { return pool_; }
  const OriginLimits& limits() const { return limits_; }

 private:
  OriginLimits limits_;
  DestinationPolicy policy_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  OriginPool pool_;
};

}  // namespace tacc::http
