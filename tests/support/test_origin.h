// TestOrigin: an origin server for tests, on 127.0.0.1 and its own thread, plain HTTP or
// HTTPS (with TestCertificates). Keep-alive: it reads requests with Beast and answers
// each with what the test's handler returns, as raw bytes, so a test can make it lie,
// stall, stream a large body without holding it, or close early.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "test_ca.h"

namespace tacc::testing {

struct OriginAnswer {
  std::string raw;                     // written as it is: a head, maybe a body
  uint64_t then_bytes = 0;             // then this many 'x' bytes, in 64 KiB writes
  std::chrono::milliseconds delay{0};  // wait before answering
  bool close = false;                  // close the connection after answering
};

// "HTTP/1.1 200 OK" with Content-Type, Content-Length and `extra_headers` ("A: b\r\n...").
OriginAnswer OkAnswer(const std::string& body, const std::string& content_type, const std::string& extra_headers);

class TestOrigin {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Handler = std::function<OriginAnswer(const Request&)>;

  // `tls`: serve HTTPS with that server certificate; null: plain HTTP.
  explicit TestOrigin(Handler handler, const TestCertificates* tls = nullptr);
  ~TestOrigin();
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }  // accepted so far
  std::vector<std::string> targets();                      // request targets, in order
  std::vector<Request> requests();

 private:
  template <typename Stream>
  void Serve(Stream& stream);
  void Record(const Request& r);

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<Request> requests_;
  std::vector<int> open_fds_;  // connections being served, shut down by the destructor
  std::thread accept_thread_;
  std::vector<std::thread> threads_;  // one per connection
};

}  // namespace tacc::testing
