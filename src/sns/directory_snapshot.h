// DirectorySnapshot: a front end's view of the cluster, rebuilt from each beacon.
//
// Soft state: nothing here is ever persisted; a new beacon replaces it whole. The
// snapshot is immutable once published, so the front end's threads share it through
// SharedDirectory without further locking. SharedDirectory also keeps the front end's
// dispatch tally since the newest beacon (tasks sent to and answered by each worker),
// which all its threads' manager stubs add to and estimate queues from.
#pragma once

#include <chrono>
#include <cstdint>
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

// What one front end sent to one worker, and heard back from it, since the newest beacon.
struct DispatchCounts {
  int64_t sent = 0;
  int64_t answered = 0;  // includes answers to tasks sent before that beacon
};

// Thread-safe holder of the newest snapshot and of the front end's dispatch tally.
class SharedDirectory {
 public:
  std::shared_ptr<const DirectorySnapshot> Get() const {
    std::lock_guard lock(mu_);
    return snap_;
  }
  // Publishes `s`. A new beacon (epoch or seq differs) starts the tally over, since its
  // loads already include what was sent before it; a repeat of the same beacon does not.
  void Set(std::shared_ptr<const DirectorySnapshot> s);

  void RecordSent(const std::string& worker_id);
  void RecordAnswered(const std::string& worker_id);
  // The tally of each of `workers` (zero for a worker not seen since the newest beacon),
  // under one lock, into `out` (resized to match).
  void CountsOf(const std::vector<const wire::WorkerInfo*>& workers, std::vector<DispatchCounts>& out) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DirectorySnapshot> snap_;
  std::unordered_map<std::string, DispatchCounts> tally_;  // by worker id, since snap_'s beacon
};

}  // namespace tacc::sns
