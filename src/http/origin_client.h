// OriginClient: fetches one HTTP request from an origin server for the proxy (issue 7).
//
// Resolves the host asynchronously, checks every resolved address with the
// DestinationPolicy (SSRF: the address connected to is the one checked) and tries the
// allowed ones in turn, connects within connect_timeout_ms, writes the request (framed
// by us: Beast sets Content-Length or chunking), and reads the response head and body
// within read_timeout_ms, refusing a body over max_body_bytes. Errors come back as a
// Status the proxy turns into a clear 502/504 page: Forbidden (destination refused),
// Unavailable (cannot resolve or connect, or the origin broke the connection), Timeout,
// Protocol (the origin's answer is not HTTP, or lies about its length), InvalidArgument
// (body too large).
//
// This first version speaks plain HTTP and opens a connection per request; TLS origins,
// a pool per origin and streamed bodies are the next steps of issue 7.
//
// Thread safety: one client per event-loop thread; a Fetch runs on the caller's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "http/destination_policy.h"

namespace tacc::http {

struct OriginLimits {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 30000;  // the whole response, head and body
  int64_t max_body_bytes = 64 << 20;
  int max_header_bytes = 64 * 1024;
};

class OriginClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  OriginClient(OriginLimits limits, DestinationPolicy policy) : limits_(limits), policy_(std::move(policy)) {}

  // Sends `request` (origin-form target, Host set) to host:port and reads the answer.
  boost::asio::awaitable<Result<Response>> Fetch(const std::string& host, uint16_t port, Request request) const;

 private:
  OriginLimits limits_;
  DestinationPolicy policy_;
};

}  // namespace tacc::http
