// OriginConnection: one connection from the proxy to an origin server, plain TCP or TLS
// (issue 7's origin client; paper §3.1.1: the front end fetches from the Internet).
//
// Open() resolves the name asynchronously (Asio's resolver thread; an address literal is
// used as it is, without that thread), checks every resolved address with the DestinationPolicy and connects only to allowed ones (SSRF:
// the checked address is the one connected to), within one connect deadline that also
// covers the TLS handshake. TLS verifies the certificate chain against the context's
// trust store and the name (or IP address) in the URL, and sends SNI for names.
//
// The pool (OriginPool) keeps idle connections; Reusable() tells whether one still
// looks usable (open, and the origin has sent nothing since its last answer).
//
// Thread safety: none; a connection lives on one event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/destination_policy.h"

namespace tacc::http {

// Where a request goes: scheme, host (a name or an address, no brackets) and port.
struct OriginEndpoint {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string Key() const;  // "https://host:port": one pool per key
};

class OriginConnection {
 public:
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // `tls_context` is needed for a TLS endpoint (else InvalidArgument). Errors:
  // Forbidden (every address refused by the policy), Unavailable (can't resolve or
  // connect; TLS handshake or certificate failure), Timeout (connect_timeout_ms passed).
  static boost::asio::awaitable<Result<std::unique_ptr<OriginConnection>>> Open(const OriginEndpoint& where, const DestinationPolicy& policy,
                                                                                boost::asio::ssl::context* tls_context, int connect_timeout_ms);

  // Calls f(stream) with the TLS stream or the plain one; f's result is returned.
  template <typename F>
  decltype(auto) WithStream(F&& f) {
    return tls_ ? f(*tls_) : f(*plain_);
  }
  boost::beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }  // read but not yet parsed
  bool tls() const { return tls_ != nullptr; }

  // Open, nothing left unparsed, and the origin has neither closed nor sent anything.
  bool Reusable();
  void Close();

  std::chrono::steady_clock::time_point idle_since;
  int requests = 0;  // answered on this connection

 private:
  OriginConnection() = default;
  std::unique_ptr<boost::beast::tcp_stream> plain_;
  std::unique_ptr<TlsStream> tls_;
  boost::beast::flat_buffer buffer_;
};

// A client TLS context that verifies peers: the system's trust store, plus the PEM
// file `extra_ca_file` if not empty (e.g. a private CA of the operator's origins).
Result<std::shared_ptr<boost::asio::ssl::context>> MakeOriginTlsContext(const std::string& extra_ca_file);

}  // namespace tacc::http
