// ConnectToBackend: picks a back end with the policy and connects to it, trying another
// when the connect is refused or times out (each such failure is reported to the table:
// passive health detection). Shared by the relay and l7 modes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "frontdoor/backend_table.h"
#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

struct BackendConnection {
  boost::asio::ip::tcp::socket socket;
  std::string id;
  bool reused = false;  // a kept connection (take_idle), not a fresh connect
};

// Unavailable when no back end is in rotation or every try failed. At most `max_tries`
// back ends are tried, none twice. The caller owns the accounting of the connection it
// gets: it is already counted open (BackendTable::Opened, from the moment of the
// choice); the caller calls BackendTable::Closed and PickPolicy::Done when it ends.
// `take_idle` (may be empty): a kept connection to the chosen back end, if the caller has
// one (l7's reuse), used instead of connecting.
using TakeIdle = std::function<std::optional<boost::asio::ip::tcp::socket>(const std::string& id)>;
boost::asio::awaitable<Result<BackendConnection>> ConnectToBackend(BackendTable& table, PickPolicy& policy, PickContext ctx,
                                                                   std::chrono::milliseconds timeout, int max_tries, TakeIdle take_idle);

}  // namespace tacc::frontdoor
