// ConnectionReporter: a front end's answer to a dispatcher that has just taken over the
// cluster address with frontdoor.failover_state = "rebuild" and asks which connections
// this front end holds (the clustering survey's LSNAT: the new dispatcher rebuilds its
// connection map from the servers, whose sockets know every connection it carried).
//
// The question comes as the body of POST /_tacc/connections on the front end's admin
// listener: a wire::ConnectionQuery sealed with the cluster key (wire/datagram_seal.h).
// It is answered only if it is authentic, fresh (sent within kFreshnessMs of this
// host's clock), its nonce has not been seen before (a recorded query replayed gets
// nothing), and it asks about this front end's own public port. The answer is a sealed
// wire::ConnectionReport carrying the query's nonce: the client addresses, ports and
// window scales of the established connections to the asked address and port
// (SocketTable), at most the query's max_connections and never more than
// kMaxConnections.
//
// Thread safety: Answer() may be called from any thread (one mutex for the nonces).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/socket_table.h"
#include "common/status.h"
#include "wire/handshake.h"

namespace tacc::sns {

class ConnectionReporter {
 public:
  static constexpr int64_t kFreshnessMs = 60'000;     // a query older (or newer) than this is refused
  static constexpr size_t kMaxConnections = 1 << 20;  // connections in one report, whatever the query asks
  static constexpr size_t kRememberedNonces = 4096;   // nonces kept to refuse replays (each for kFreshnessMs)

  using Lister = std::function<Result<std::vector<EstablishedConnection>>(const boost::asio::ip::address&, uint16_t, size_t, bool*)>;

  // `public_port`: the only local port a query may ask about. `lister`: the socket
  // table (tests pass their own).
  ConnectionReporter(wire::ClusterAuthPtr auth, uint16_t public_port, Lister lister = ListEstablishedTcp);

  // `body`: the sealed query. The sealed report, or: Forbidden (not authentic, another
  // cluster's, stale, a replayed nonce), InvalidArgument (not a query, a bad address, a
  // port not this front end's), or the socket table's error.
  Result<std::string> Answer(std::string_view body, int64_t now_unix_ms);

 private:
  bool RememberNonce(const std::string& nonce, int64_t now_unix_ms);  // false if seen; mu_ held

  wire::ClusterAuthPtr auth_;
  uint16_t public_port_;
  Lister lister_;
  std::mutex mu_;
  std::deque<std::pair<int64_t, std::string>> nonce_order_;  // guarded by mu_: (time seen, nonce), oldest first
  std::unordered_set<std::string> nonces_;                    // guarded by mu_
};

}  // namespace tacc::sns
