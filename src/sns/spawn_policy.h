// SpawnPolicy: when the manager adds or removes workers of a class (paper §4.5).
//
// The manager describes one class as a ClassLoadView each policy tick and acts on the
// decision; the policy itself holds no state, so it is swappable by configuration
// (manager.spawn_policy) and unit-tested with made-up views and fake time.
//   threshold: keep min_workers; spawn one more when the mean smoothed queue exceeds H
//              and no spawn happened in the last D seconds; reap the longest-idle worker
//              once idle for R seconds, one per tick, never below min_workers; and when
//              the class has been light for R seconds (its mean queue spread over one
//              worker fewer under L, see light_since), reap its least-loaded worker.
//   fixed:     keep min_workers only (crash restarts still happen).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"

namespace tacc::sns {

struct WorkerLoadView {
  std::string_view id;  // the directory's: valid while the view is being decided on
  double load = 0;                    // smoothed queue length
  std::chrono::steady_clock::duration idle_for{0};  // since it last had work
};

struct ClassLoadView {
  const ClassConfig* config = nullptr;
  int live = 0;       // registered, not draining
  int pending = 0;    // launched or scheduled to launch, not yet registered
  double mean_load = 0;
  std::chrono::steady_clock::time_point last_spawn{};  // epoch if never
  // Since when the class has been light without a break: mean_load x live / (live - 1)
  // under manager.reap_threshold, live above min_workers, nothing pending (kept by the
  // supervisor across ticks; reset when it stops being light or a worker is reaped).
  // Epoch: not light now.
  std::chrono::steady_clock::time_point light_since{};

  // The class's workers, for a policy that reaps. Listed on first use only: listing
  // walks every worker (10,000 on a big cluster, four times a second), and a policy
  // that decides by the class's totals alone never pays for it.
  const std::vector<WorkerLoadView>& Workers() const {
    if (list_workers) {
      list_workers(workers);
      list_workers = nullptr;
    }
    return workers;
  }
  mutable std::vector<WorkerLoadView> workers;  // filled by list_workers, or directly (tests)
  mutable std::function<void(std::vector<WorkerLoadView>&)> list_workers;
};

struct SpawnDecision {
  int spawn = 0;
  std::vector<std::string> reap;  // worker ids
  std::string reason;             // for the log
};

class SpawnPolicy {
 public:
  virtual ~SpawnPolicy() = default;
  virtual SpawnDecision Decide(const ClassLoadView& view, std::chrono::steady_clock::time_point now) const = 0;
};

std::unique_ptr<SpawnPolicy> MakeSpawnPolicy(const Config& config);

}  // namespace tacc::sns
