#include "wire/cluster_options.h"

namespace tacc::wire {

Result<ClusterAuthPtr> LoadClusterAuth(const Config& config) {
  auto key = ClusterKey::Load(config.KeyFile());
  if (!key.ok()) return key.status();
  return ClusterAuthPtr(std::make_shared<const ClusterAuth>(ClusterAuth{config.cluster.name, std::move(*key)}));
}

ConnectionOptions ClusterConnectionOptions(const Config& config, ClusterAuthPtr auth, std::string name) {
  ConnectionOptions o;
  o.max_frame_bytes = config.wire.max_frame_bytes;
  o.max_outbox_bytes = config.wire.max_outbox_bytes;
  o.idle_timeout = Millis(config.manager.peer_timeout_ms);
  o.heartbeat_interval = Millis(std::max(1, config.manager.peer_timeout_ms / 2));
  o.handshake_timeout = Millis(config.wire.handshake_timeout_ms);
  o.auth = std::move(auth);
  o.name = std::move(name);
  return o;
}

}  // namespace tacc::wire
