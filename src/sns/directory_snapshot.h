// DirectorySnapshot: a front end's view of the cluster, rebuilt from each beacon.
//
// Soft state: nothing here is ever persisted; a new beacon replaces it whole. The
// snapshot is immutable once published, so the front end's threads share it through
// SharedDirectory without further locking. SharedDirectory also keeps the front end's
// dispatch tally since the newest beacon (tasks sent to and answered by each worker),
// which all its threads' manager stubs add to and estimate queues from; and the newest
// load each worker announced in an answer, which is fresher than the beacon's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "wire/cluster.pb.h"

namespace tacc::sns {

struct DirectorySnapshot {
  std::chrono::steady_clock::time_point received;
  wire::Beacon beacon;
  std::unordered_map<std::string, std::vector<const wire::WorkerInfo*>> by_class;  // points into beacon

  static std::shared_ptr<const DirectorySnapshot> FromBeacon(const wire::Beacon& beacon,
                                                             std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now());
  const std::vector<const wire::WorkerInfo*>& WorkersOf(const std::string& cls) const;
};

// What one front end sent to one worker, and heard back from it, since the newest beacon
// or, when `observed_load` is set, since the answer that announced that load.
struct DispatchCounts {
  int64_t sent = 0;
  int64_t answered = 0;  // includes answers to tasks sent before that beacon
  // The worker's load as its newest answer to this front end announced it, if that
  // answer came after the previous beacon (so at most one beacon period old); the
  // estimate then starts from it instead of the beacon's smoothed, older load.
  std::optional<double> observed_load = std::nullopt;
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
  // An answer from `worker_id`; `load` is the load it announced with it, if any (a
  // finite, non-negative one starts the worker's tally over from that load).
  void RecordAnswered(const std::string& worker_id, std::optional<double> load = std::nullopt,
                      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // The tally of each of `workers` (zero for a worker not seen since the newest beacon),
  // under one lock, into `out` (resized to match).
  void CountsOf(const std::vector<const wire::WorkerInfo*>& workers, std::vector<DispatchCounts>& out) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DirectorySnapshot> snap_;
  struct Tally {
    DispatchCounts counts;
    std::chrono::steady_clock::time_point observed_at;  // of counts.observed_load
  };
  std::unordered_map<std::string, Tally> tally_;  // by worker id, since snap_'s beacon or an answer
};

}  // namespace tacc::sns
