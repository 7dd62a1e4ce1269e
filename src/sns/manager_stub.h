// ManagerStub: the front end's side of load balancing (paper §3.1.2, §4.5).
//
// Picks a worker for each task from the newest beacon (SharedDirectory) by the balance
// policy, over estimated queues: the beacon's smoothed load plus this stub's running
// delta (tasks it sent minus answers it got since that beacon, scaled by the number of
// dispatching threads in the cluster). Keeps one persistent multiplexed connection per
// worker. A task that times out, is refused as overloaded, or meets a dead worker is
// retried on another worker; a class with no worker asks the manager for one and waits
// (stub.spawn_wait_ms). It never waits for the manager otherwise: stale beacons serve.
//
// Thread safety: one instance per front-end thread; all calls on that thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/config.h"
#include "sns/balance_policy.h"
#include "sns/directory_snapshot.h"
#include "sns/service.h"
#include "wire/connection.h"

namespace tacc::sns {

class ManagerStub : public TaskDispatcher {
 public:
  using SpawnRequester = std::function<void(const std::string& worker_class)>;  // thread-safe
  ManagerStub(boost::asio::io_context& ctx, const Config& config, SharedDirectory& directory, SpawnRequester request_spawn,
              int dispatchers_per_frontend, uint64_t seed, wire::ClusterAuthPtr auth);
  ~ManagerStub() override;

  boost::asio::awaitable<Result<TaskOutput>> Dispatch(const std::string& worker_class, TaskInput input,
                                                      std::chrono::steady_clock::time_point deadline, DispatchInfo* info) override;
  void Stop();

  // The queue this stub currently estimates for a worker (tests, benchmarks).
  double EstimatedLoad(const wire::WorkerInfo& w) const;

 private:
  boost::asio::awaitable<Result<wire::Connection::Ptr>> ConnectionTo(const wire::WorkerInfo& w);
  // Waits until the directory lists a worker of `cls` not in `exclude` (asking the
  // manager to spawn one), or `until`.
  boost::asio::awaitable<std::shared_ptr<const DirectorySnapshot>> WaitForWorker(const std::string& cls,
                                                                                   std::chrono::steady_clock::time_point until,
                                                                                   std::vector<std::string> exclude);
  void Refresh(const DirectorySnapshot& snap);

  boost::asio::io_context& ctx_;
  const Config& config_;
  SharedDirectory& directory_;
  SpawnRequester request_spawn_;
  int dispatchers_per_frontend_;
  std::unique_ptr<BalancePolicy> policy_;
  wire::ClusterAuthPtr auth_;
  std::unordered_map<std::string, wire::Connection::Ptr> conns_;  // by worker id
  std::unordered_map<std::string, double> delta_;                 // by worker id, since seen_seq_
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> suspect_until_;
  uint64_t seen_epoch_ = 0, seen_seq_ = 0;
  double delta_scale_ = 1;
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
