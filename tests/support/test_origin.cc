#include "test_origin.h"

#include <sys/socket.h>

#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace tacc::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

OriginAnswer OkAnswer(const std::string& body, const std::string& content_type, const std::string& extra_headers) {
  OriginAnswer a;
  a.raw = "HTTP/1.1 200 OK\r\nContent-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
          "\r\n" + body;
  return a;
}

TestOrigin::TestOrigin(Handler handler, const TestCertificates* tls)
    : handler_(std::move(handler)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  if (tls) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->use_certificate_chain(asio::buffer(tls->server_cert_pem));
    tls_->use_private_key(asio::buffer(tls->server_key_pem), asio::ssl::context::pem);
  }
  // Blocking sockets, a thread per connection: simple, and tests open few connections.
  accept_thread_ = std::thread([this] {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec || stopping_) return;
      ++connections_;
      std::lock_guard l(mu_);
      threads_.emplace_back([this, sock = std::move(s)]() mutable {
        int fd = sock.native_handle();
        {
          std::lock_guard l2(mu_);
          open_fds_.push_back(fd);
        }
        if (tls_) {
          asio::ssl::stream<tcp::socket> stream(std::move(sock), *tls_);
          boost::system::error_code hec;
          stream.handshake(asio::ssl::stream_base::server, hec);
          if (!hec) Serve(stream);
        } else {
          Serve(sock);
        }
        std::lock_guard l2(mu_);  // before the socket closes: the fd can't be reused yet
        std::erase(open_fds_, fd);
      });
    }
  });
}

TestOrigin::~TestOrigin() {
  stopping_ = true;
  boost::system::error_code ec;
  // Wake the acceptor with a connection of our own, then close.
  {
    tcp::socket poke(io_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  }
  accept_thread_.join();
  acceptor_.close(ec);
  std::vector<std::thread> rest;
  {
    std::lock_guard l(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    rest.swap(threads_);
  }
  // Connection threads end when their clients close (tests close theirs; the proxy's
  // pooled connections close with its front end) or at the read timeout below.
  for (auto& t : rest) t.join();
}

void TestOrigin::Record(const Request& r) {
  std::lock_guard l(mu_);
  requests_.push_back(r);
}

std::vector<std::string> TestOrigin::targets() {
  std::lock_guard l(mu_);
  std::vector<std::string> out;
  for (auto& r : requests_) out.emplace_back(r.target());
  return out;
}

std::vector<TestOrigin::Request> TestOrigin::requests() {
  std::lock_guard l(mu_);
  return requests_;
}

template <typename Stream>
void TestOrigin::Serve(Stream& stream) {
  // A read that waits over 10 s ends the connection, so the destructor never hangs.
  timeval tv{10, 0};
  auto& lowest = stream.lowest_layer();
  ::setsockopt(lowest.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  boost::beast::flat_buffer buffer;
  for (;;) {
    Request req;
    boost::system::error_code ec;
    bhttp::read(stream, buffer, req, ec);
    if (ec || stopping_) return;
    Record(req);
    OriginAnswer a = handler_(req);
    if (a.delay.count() > 0) std::this_thread::sleep_for(a.delay);
    asio::write(stream, asio::buffer(a.raw), ec);
    if (ec) return;
    std::string chunk(64 * 1024, 'x');
    for (uint64_t left = a.then_bytes; left > 0 && !ec;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
      asio::write(stream, asio::buffer(chunk.data(), n), ec);
      left -= n;
    }
    if (ec || a.close || !req.keep_alive()) {
      lowest.shutdown(tcp::socket::shutdown_both, ec);
      return;
    }
  }
}

}  // namespace tacc::testing
