// How every cluster TCP connection of a process is set up from its configuration:
// the cluster key to prove, frame and queue limits, heartbeats and idle timeouts in
// both directions. One place, so the manager, front ends and workers cannot drift apart.
#pragma once

#include <string>

#include "common/config.h"
#include "wire/connection.h"

namespace tacc::wire {

// Loads the cluster key (config.KeyFile()) for config.cluster.name. The error names the
// file and says how to create one.
Result<ClusterAuthPtr> LoadClusterAuth(const Config& config);

// Options for a cluster connection named `name` (for logs): proves `auth`, limits frames
// to wire.max_frame_bytes and the outbound queue to wire.max_outbox_bytes, sends a
// heartbeat when quiet for wire.heartbeat_ms and closes when the peer is silent for
// three of those.
ConnectionOptions ClusterConnectionOptions(const Config& config, ClusterAuthPtr auth, std::string name);
// The same for the manager's side of a worker's or front end's connection: those peers
// send load reports (worker.report_ms) or reports (beacon.interval_ms) on their own, so
// the manager closes one silent for manager.peer_timeout_ms (a crash detected fast).
ConnectionOptions ManagerPeerOptions(const Config& config, ClusterAuthPtr auth, std::string name);

}  // namespace tacc::wire
