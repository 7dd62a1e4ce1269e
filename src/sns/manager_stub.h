// ManagerStub: the front end's side of load balancing (paper §3.1.2, §4.5).
//
// Picks a worker for each task from the newest beacon (SharedDirectory) by the balance
// policy, over estimated queues (EstimateQueue: the beacon's smoothed load corrected by
// what this front end sent and got answered since that beacon, and by what the other
// front ends are assumed to have sent). Keeps one persistent multiplexed connection per
// worker. A task that times out, is refused as overloaded, or meets a dead worker is
// retried on another worker; a class with no worker asks the manager for one and waits
// (stub.spawn_wait_ms). It never waits for the manager otherwise: stale beacons serve.
//
// The choice itself (estimates, suspects, retries) is WorkerChooser, which does no I/O
// and reads no clock: it is handed `now`, so unit tests run it on a fake clock.
//
// Thread safety: one ManagerStub (and WorkerChooser) per front-end thread; all calls on
// that thread. The dispatch tally they estimate from is the front end's, shared by all
// its threads through SharedDirectory.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "sns/balance_policy.h"
#include "sns/directory_snapshot.h"
#include "sns/service.h"
#include "wire/connection.h"

namespace tacc::sns {

// The delta estimator: the queue a front end estimates for one worker (docs/design.md,
// "Load, the delta estimator, and lottery scheduling"). `beacon_load` is the worker's
// smoothed load in the newest beacon, or the load it announced in its newest answer to
// this front end when that is fresher (DispatchCounts::observed_load); `own` this front
// end's tally for it since then; `mean_answered` the mean of `answered` over the worker's class; `frontends`
// the number of front ends dispatching independently (the beacon's; at least 1). With
// one front end it is exact: beacon_load + sent − answered. The others are assumed to
// send where this one sent, and their answers are taken half from this worker's own
// answers and half from the class mean, which keeps one front end's few answers from
// swinging the estimate. Never negative.
double EstimateQueue(double beacon_load, DispatchCounts own, double mean_answered, int frontends);

// Which worker a task attempt goes to. Not thread-safe (one per front-end thread).
class WorkerChooser {
 public:
  using Clock = std::chrono::steady_clock;
  // `config` must outlive the chooser.
  WorkerChooser(const Config& config, std::unique_ptr<BalancePolicy> policy);
  WorkerChooser(const Config&& config, std::unique_ptr<BalancePolicy> policy) = delete;

  // A worker of class `cls` in `snap`, never one in `tried`. Workers suspect at `now` are
  // skipped unless every untried worker is suspect; then they get another go. nullptr when
  // every worker of the class was tried (or there is none).
  const wire::WorkerInfo* Choose(const DirectorySnapshot& snap, const SharedDirectory& directory, const std::string& cls,
                                 std::span<const std::string> tried, Clock::time_point now);

  // The queue estimated for each worker of `cls` in `snap` (in snap.WorkersOf(cls) order):
  // EstimateQueue over the front end's tally, or the beacon loads alone with
  // stub.delta_estimator off.
  std::vector<double> Estimates(const DirectorySnapshot& snap, const SharedDirectory& directory, const std::string& cls) const;

  // A worker that timed out or could not be reached is avoided for two beacon periods.
  void MarkSuspect(const std::string& worker_id, Clock::time_point now);
  bool IsSuspect(const std::string& worker_id, Clock::time_point now) const;

 private:
  const Config& config_;
  std::unique_ptr<BalancePolicy> policy_;
  std::unordered_map<std::string, Clock::time_point> suspect_until_;
  // Scratch space reused across calls.
  std::vector<const wire::WorkerInfo*> candidates_;
  std::vector<double> loads_;
};

class ManagerStub : public TaskDispatcher {
 public:
  using SpawnRequester = std::function<void(const std::string& worker_class)>;  // thread-safe
  ManagerStub(boost::asio::io_context& ctx, const Config& config, SharedDirectory& directory, SpawnRequester request_spawn, uint64_t seed,
              wire::ClusterAuthPtr auth);
  ~ManagerStub() override;

  boost::asio::awaitable<Result<TaskOutput>> Dispatch(const std::string& worker_class, TaskInput input,
                                                      std::chrono::steady_clock::time_point deadline, DispatchInfo* info) override;
  std::optional<double> ClassLoad(const std::string& worker_class) const override;
  std::vector<std::string> WorkersOf(const std::string& worker_class) const override;
  boost::asio::awaitable<Result<TaskOutput>> DispatchTo(const std::string& worker_class, const std::string& worker_id, TaskInput input,
                                                        std::chrono::steady_clock::time_point deadline) override;
  void Stop();

  const WorkerChooser& chooser() const { return chooser_; }

 private:
  boost::asio::awaitable<Result<wire::Connection::Ptr>> ConnectionTo(const wire::WorkerInfo& w);
  // Waits until the directory lists a worker of `cls` not in `exclude` (asking the
  // manager to spawn one), or `until`.
  boost::asio::awaitable<std::shared_ptr<const DirectorySnapshot>> WaitForWorker(const std::string& cls,
                                                                                   std::chrono::steady_clock::time_point until,
                                                                                   std::vector<std::string> exclude);

  boost::asio::io_context& ctx_;
  const Config& config_;
  SharedDirectory& directory_;
  SpawnRequester request_spawn_;
  WorkerChooser chooser_;
  wire::ClusterAuthPtr auth_;
  std::unordered_map<std::string, wire::Connection::Ptr> conns_;  // by worker id
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
