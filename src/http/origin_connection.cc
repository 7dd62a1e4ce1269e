#include "http/origin_connection.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

namespace tacc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

std::string OriginEndpoint::Key() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}", tls ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

asio::awaitable<Result<std::unique_ptr<OriginConnection>>> OriginConnection::Open(const OriginEndpoint& where, const DestinationPolicy& policy,
                                                                                 asio::ssl::context* tls_context, int connect_timeout_ms) {
  auto ex = co_await asio::this_coro::executor;
  const std::string name = where.Key();
  if (where.tls && !tls_context) co_return Status::InvalidArgument(fmt::format("{}: no TLS context to connect with", name));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(connect_timeout_ms);

  // Only addresses the policy allows are tried: the one connected to was checked.
  std::vector<tcp::endpoint> allowed;
  Status refused = Status::Unavailable(fmt::format("{} has no address", where.host));
  auto consider = [&](const tcp::endpoint& ep) {
    Status s = policy.Check(ep.address());
    if (s.ok()) allowed.push_back(ep);
    else refused = s;
  };
  boost::system::error_code literal_ec;
  const auto literal = asio::ip::make_address(where.host, literal_ec);
  if (!literal_ec) {
    // An address needs no resolving. Asio's resolver runs on a thread of its own, and on
    // a saturated core that thread waits for the event loop to go idle before it runs:
    // tens of ms per new connection (the pass-through bench's p99).
    consider(tcp::endpoint(literal, where.port));
  } else {
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(where.host, std::to_string(where.port), kUseTuple);
    if (rec) co_return Status::Unavailable(fmt::format("cannot resolve {}: {}", where.host, rec.message()));
    for (const auto& r : results) consider(r.endpoint());
  }
  if (allowed.empty()) co_return refused;

  std::unique_ptr<OriginConnection> conn(new OriginConnection());
  if (where.tls) conn->tls_ = std::make_unique<TlsStream>(ex, *tls_context);
  else conn->plain_ = std::make_unique<beast::tcp_stream>(ex);
  beast::tcp_stream& stream = conn->tcp();
  stream.expires_at(deadline);
  auto [cec, ep] = co_await stream.async_connect(allowed, kUseTuple);
  if (cec == beast::error::timeout) co_return Status::Timeout(fmt::format("connecting to {} took over {} ms", name, connect_timeout_ms));
  if (cec) co_return Status::Unavailable(fmt::format("cannot connect to {}: {}", name, cec.message()));
  boost::system::error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);

  if (conn->tls_) {
    SSL* ssl = conn->tls_->native_handle();
    // SNI carries names only (RFC 6066 §3); verification covers names and addresses.
    if (literal_ec && !SSL_set_tlsext_host_name(ssl, where.host.c_str()))
      co_return Status::Internal(fmt::format("{}: cannot set SNI", name));
    conn->tls_->set_verify_mode(asio::ssl::verify_peer);
    conn->tls_->set_verify_callback(asio::ssl::host_name_verification(where.host));
    auto [hec] = co_await conn->tls_->async_handshake(asio::ssl::stream_base::client, kUseTuple);
    if (hec == beast::error::timeout) co_return Status::Timeout(fmt::format("TLS handshake with {} took over {} ms", name, connect_timeout_ms));
    if (hec) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        co_return Status::Unavailable(fmt::format("{}: certificate not trusted: {}", name, X509_verify_cert_error_string(verify)));
      co_return Status::Unavailable(fmt::format("TLS handshake with {} failed: {}", name, hec.message()));
    }
  }
  stream.expires_never();
  co_return conn;
}

bool OriginConnection::Reusable() {
  if (buffer_.size() != 0) return false;
  auto& sock = tcp().socket();
  if (!sock.is_open()) return false;
  // Anything readable on an idle connection (its close, or bytes nobody asked for)
  // makes it unusable; a TLS close_notify shows up the same way.
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void OriginConnection::Close() {
  boost::system::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().socket().close(ignored);
}

Result<std::shared_ptr<asio::ssl::context>> MakeOriginTlsContext(const std::string& extra_ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3, ec);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_default_verify_paths(ec);
  if (ec) return Status::Internal("cannot load the system's trusted certificates: " + ec.message());
  if (!extra_ca_file.empty()) {
    ctx->load_verify_file(extra_ca_file, ec);
    if (ec) return Status::InvalidArgument(fmt::format("cannot load CA certificates from '{}': {}", extra_ca_file, ec.message()));
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

}  // namespace tacc::http
