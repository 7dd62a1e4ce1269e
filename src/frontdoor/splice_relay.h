// SpliceRelay: copies bytes both ways between two connected TCP sockets with splice(2),
// through a pipe per direction, so the payload never enters user space (the front door's
// L4 relay mode, and the baseline the kernel modes are measured against).
//
// Each direction ends on EOF with a half-close of the other socket (shutdown SHUT_WR),
// so either side may finish sending first; an error on either side (reset, closed
// under it) ends both. No byte either way for `idle_timeout` closes both.
//
// SpliceExactly is the same pump for a known number of bytes one way.
//
// Thread safety: the sockets belong to the calling coroutine's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>

#include "common/status.h"

namespace tacc::frontdoor {

struct RelayResult {
  uint64_t client_to_backend = 0;
  uint64_t backend_to_client = 0;
  bool idle_timeout = false;
  bool backend_reset = false;  // the back end's side failed (not an EOF)
};

// Moves exactly `bytes` from `from` to `to` with splice(2): the body of an HTTP message
// whose length is known (l7 passes a Content-Length body through the kernel once its
// head is sent). kFromFailed also when `from` ends before the last byte. No deadline of
// its own: the caller closes the sockets to end it.
enum class SpliceEnd { kOk, kFromFailed, kToFailed };
boost::asio::awaitable<SpliceEnd> SpliceExactly(boost::asio::ip::tcp::socket& from, boost::asio::ip::tcp::socket& to, uint64_t bytes);

boost::asio::awaitable<RelayResult> SpliceRelay(boost::asio::ip::tcp::socket& client, boost::asio::ip::tcp::socket& backend,
                                                std::chrono::milliseconds idle_timeout);

}  // namespace tacc::frontdoor
