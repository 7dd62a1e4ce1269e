// Frontend: one `tacc frontend` process (paper §3.1.1).
//
// frontend.threads event-loop threads, each with its own io_context, HTTP server (all
// bound to one port with SO_REUSEPORT), manager stub and service instance, so nothing
// on the request path is shared or locked except the directory snapshot. Thread 0 also
// runs the ManagerLink (beacons, registration, manager restarts) and the launcher.
// Built-in endpoints: /_tacc/health, /_tacc/metrics (Prometheus), /_tacc/status (JSON
// view of the beacon directory); every other request goes to the service.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/process.h"
#include "sns/directory_snapshot.h"
#include "sns/launcher.h"
#include "sns/manager_link.h"

namespace tacc::sns {

class Frontend {
 public:
  Frontend(Config config, ConfigArgs args, uint32_t index, int port);
  ~Frontend();
  // Loads the cluster key (config.KeyFile()), takes the per-index lock, binds, starts
  // the service on every thread.
  Status Start();
  // Runs until Stop() (from a signal or the lifeline); returns when all threads end.
  void Run();
  void Stop();  // thread-safe
  uint16_t port() const { return port_; }

 private:
  class Shard;
  Config config_;
  ConfigArgs args_;
  std::optional<ClusterKey> key_;  // from Start()
  uint32_t index_;
  int requested_port_;
  uint16_t port_ = 0;
  std::optional<FileLock> lock_;
  SharedDirectory directory_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<ManagerLink> link_;
  std::vector<std::thread> threads_;
};

}  // namespace tacc::sns
