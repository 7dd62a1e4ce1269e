// DirectorySnapshot: a front end's view of the cluster, rebuilt from each beacon.
//
// Soft state: nothing here is ever persisted; a new beacon replaces it whole. The
// snapshot is immutable once published, so the front end's threads share it through
// SharedDirectory without further locking.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "wire/cluster.pb.h"

namespace tacc::sns {

struct DirectorySnapshot {
  std::chrono::steady_clock::time_point received;
  wire::Beacon beacon;
  std::unordered_map<std::string, std::vector<const wire::WorkerInfo*>> by_class;  // points into beacon

  static std::shared_ptr<const DirectorySnapshot> FromBeacon(const wire::Beacon& beacon);
  const std::vector<const wire::WorkerInfo*>& WorkersOf(const std::string& cls) const;
};

// Thread-safe holder of the newest snapshot.
class SharedDirectory {
 public:
  std::shared_ptr<const DirectorySnapshot> Get() const {
    std::lock_guard lock(mu_);
    return snap_;
  }
  void Set(std::shared_ptr<const DirectorySnapshot> s) {
    std::lock_guard lock(mu_);
    snap_ = std::move(s);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DirectorySnapshot> snap_;
};

}  // namespace tacc::sns
