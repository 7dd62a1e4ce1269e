// Handshake: every cluster TCP connection proves the cluster key before any message.
//
// Mutual challenge-response over fixed-size records, so nothing a stranger sends can
// make us allocate or parse anything:
//   client -> server   "TACCHS01" | client nonce (16)
//   server -> client   "TACCHS01" | server nonce (16) | HMAC(key, "tacc-tcp-server", cluster, cn, sn)
//   client -> server   HMAC(key, "tacc-tcp-client", cluster, cn, sn)
// Each side proves it holds the key over both fresh nonces, so a recorded handshake is
// worth nothing, and a server never sends its proof for a nonce it did not mix its own
// nonce into. A peer without the key, of another cluster, or too slow
// (wire.handshake_timeout_ms) is refused: the connection is closed, the refusal logged
// (rate-limited) and counted (tacc_wire_handshakes_refused_total), and nothing else
// happens. After the handshake, frames travel in the clear: this authenticates peers on
// the cluster network, it does not encrypt (see docs/design.md, "Cluster key").
//
// Thread safety: the functions run on the socket's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "common/cluster_key.h"
#include "common/status.h"

namespace tacc::wire {

// What a process proves itself with: the cluster's name and key.
struct ClusterAuth {
  std::string cluster;
  ClusterKey key;
};
using ClusterAuthPtr = std::shared_ptr<const ClusterAuth>;


// Runs the client side on a connected socket. Unavailable on I/O errors; Protocol if
// the server does not prove the key; Timeout past `timeout`. The socket is left open
// either way (the caller closes it).
boost::asio::awaitable<Status> ClientHandshake(boost::asio::ip::tcp::socket& socket, const ClusterAuth& auth,
                                               std::chrono::milliseconds timeout);
// Runs the server side on an accepted socket; same results.
boost::asio::awaitable<Status> ServerHandshake(boost::asio::ip::tcp::socket& socket, const ClusterAuth& auth,
                                               std::chrono::milliseconds timeout);

// Counts and logs (at most once a second) a refused handshake from `peer`.
void NoteRefusedHandshake(const std::string& peer, const Status& why);

}  // namespace tacc::wire
