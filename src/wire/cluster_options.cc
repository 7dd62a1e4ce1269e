#include "wire/cluster_options.h"

namespace tacc::wire {

Result<ClusterAuthPtr> LoadClusterAuth(const Config& config) {
  auto key = ClusterKey::Load(config.KeyFile());
  if (!key.ok()) return key.status();
  return ClusterAuthPtr(std::make_shared<const ClusterAuth>(ClusterAuth{config.cluster.name, std::move(*key)}));
}

ConnectionOptions ClusterConnectionOptions(const Config& config, ClusterAuthPtr auth, std::string name) {
  // A heartbeat costs a write and a wake-up; a manager with 10,000 workers pays it
  // 10,000 times a period, so the period is long and silence is judged over three of
  // them. The manager's own peers are judged faster (ManagerPeerOptions): they report
  // on their own far more often than that.
  ConnectionOptions o;
  o.max_frame_bytes = config.wire.max_frame_bytes;
  o.max_outbox_bytes = config.wire.max_outbox_bytes;
  o.heartbeat_interval = Millis(config.wire.heartbeat_ms);
  o.idle_timeout = 3 * o.heartbeat_interval;
  o.handshake_timeout = Millis(config.wire.handshake_timeout_ms);
  o.auth = std::move(auth);
  o.name = std::move(name);
  return o;
}

ConnectionOptions ManagerPeerOptions(const Config& config, ClusterAuthPtr auth, std::string name) {
  auto o = ClusterConnectionOptions(config, std::move(auth), std::move(name));
  o.idle_timeout = Millis(config.manager.peer_timeout_ms);
  return o;
}

}  // namespace tacc::wire
