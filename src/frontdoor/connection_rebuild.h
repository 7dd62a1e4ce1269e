// ConnectionRebuild: the third way of the clustering survey to keep established
// connections across a dispatcher takeover (frontdoor.failover_state = "rebuild", after
// LSNAT): nothing is copied between the dispatchers; the one that has just become active
// asks every front end in rotation which connections it holds, and loads them into its
// kernel data path (NatDatapath::Restore, DsrDatapath::LoadConnections) so that their
// next packets go where they went before.
//
// Each front end is asked on its admin listener (POST /_tacc/connections, see
// sns/connection_reporter.h) with a query sealed with the cluster key, carrying a fresh
// random nonce; the report must be sealed with the key and carry the same nonce, else it
// is ignored. All front ends are asked at once, each bounded by the timeout; a front end
// that does not answer in time loses its connections' takeover (they reset or time out,
// as with no failover state), the others do not wait for it.
//
// Thread safety: Gather runs on one executor; nothing shared.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "wire/handshake.h"

namespace tacc::frontdoor {

// One front end to ask: where its admin listener is, and which of its local address and
// port the dispatcher's connections reach (nat: the front end's own; dsr: the cluster's).
struct RebuildSource {
  std::string backend_id;  // "host:port", as the rotation names it
  std::string admin_host;
  uint16_t admin_port = 0;
  std::string local_host;
  uint16_t local_port = 0;
};

struct RebuiltConnection {
  boost::asio::ip::address client;
  uint16_t client_port = 0;
  uint8_t client_wscale = 0;
  uint8_t server_wscale = 0;
};

struct RebuildAnswer {
  RebuildSource source;
  Status status;  // ok: `connections` is the front end's report
  std::vector<RebuiltConnection> connections;
  bool truncated = false;
};

struct RebuildLimits {
  std::chrono::milliseconds timeout{1000};  // per front end, from connect to the last byte of the report
  uint32_t max_connections = 100000;        // asked of each front end
  size_t max_report_bytes = 64 << 20;       // a longer answer is refused, not read
};

// Asks every source at once; one answer per source, in the order given.
boost::asio::awaitable<std::vector<RebuildAnswer>> GatherConnections(wire::ClusterAuthPtr auth, std::vector<RebuildSource> sources,
                                                                     RebuildLimits limits);

// The checks on a report, apart from the I/O (tests): `body` must be a report sealed
// with the cluster key, fresh, carrying `nonce`.
Result<std::vector<RebuiltConnection>> ParseConnectionReport(const wire::ClusterAuth& auth, std::string_view body, std::string_view nonce,
                                                             int64_t now_unix_ms, bool* truncated);
// The sealed query for `source` (tests and GatherConnections).
std::string MakeConnectionQuery(const wire::ClusterAuth& auth, const RebuildSource& source, std::string_view nonce, uint32_t max,
                                int64_t now_unix_ms);

}  // namespace tacc::frontdoor
