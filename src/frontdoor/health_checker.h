// HealthChecker: the dispatcher's active checks of its back ends.
//
// Every frontdoor.health_interval_ms each back end (in rotation or in "testing") gets one
// check: a TCP connect, or, with frontdoor.health_path set, an HTTP/1.1 GET of that path
// that must answer 2xx or 3xx; either within frontdoor.health_timeout_ms. Results go to
// the BackendTable, which moves the back end out of rotation after health_fall failures
// in a row and back after health_rise passes. Passive detection (refused, reset or
// timed-out forwarded connections) reports to the same table from the data paths.
//
// Thread safety: none; runs on the dispatcher's event loop, beside the table.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>

#include "common/config.h"
#include "frontdoor/backend_table.h"

namespace tacc::frontdoor {

class HealthChecker {
 public:
  HealthChecker(boost::asio::io_context& ctx, const Config::Frontdoor& settings, BackendTable& table);
  ~HealthChecker();
  void Start();
  void Stop();
  uint64_t checks() const { return checks_; }

  // One check of `spec` (exposed for tests): true if it passed.
  static boost::asio::awaitable<bool> CheckOnce(BackendSpec spec, std::string path, std::chrono::milliseconds timeout);

 private:
  boost::asio::awaitable<void> Loop();
  boost::asio::awaitable<void> CheckAndReport(BackendSpec spec);

  boost::asio::io_context& ctx_;
  Config::Frontdoor settings_;
  BackendTable& table_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t checks_ = 0;
};

}  // namespace tacc::frontdoor
