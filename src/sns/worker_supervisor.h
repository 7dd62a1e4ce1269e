// WorkerSupervisor: the manager's worker process policy (paper §2.2.4, §4.5).
//
// Launches workers through the Launcher and follows each launch until the worker
// registers (its spawn token) or fails to within manager.spawn_timeout_ms, which counts
// as a crash (the pending process is killed by its launcher handle). Crashes go to a
// per-class RestartBackoff: a restart is scheduled after the back-off delay, and past
// the crash budget the class's restarts and spawns are suspended until crashes age out.
// Every launch (crash restart, SpawnPolicy decision, on-demand spawn) passes one bound:
// live + launching workers of a class never exceed classes.X.max_workers. Each tick it
// runs the SpawnPolicy over the WorkerDirectory and marks the workers to reap draining.
//
// It signals only pids its launcher started (launched_pid, pending spawns), never a pid
// a peer reported. Time is passed in as `now`: unit-tested with a fake clock and a fake
// launcher. The manager owns it and calls it from its io_context thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "sns/launcher.h"
#include "sns/restart_backoff.h"
#include "sns/spawn_policy.h"
#include "sns/worker_directory.h"

namespace tacc::sns {

class WorkerSupervisor {
 public:
  using Clock = std::chrono::steady_clock;

  // Keeps references to all four; they outlive it. `token_prefix` makes spawn tokens
  // unique across managers (the manager's epoch).
  WorkerSupervisor(const Config& config, Launcher& launcher, WorkerDirectory& directory, const SpawnPolicy& policy,
                   std::string token_prefix);

  // What follows `worker --class C --spawn-token T` on a worker's command line (where
  // the manager listens, the configuration flags).
  void set_worker_args(std::vector<std::string> args) { worker_args_ = std::move(args); }

  // Launches a worker of `cls`, unless the class's restarts are suspended or live plus
  // launching workers already reach max_workers. False if nothing was launched; a failed
  // launch counts as a crash.
  bool Spawn(const std::string& cls, const std::string& reason, Clock::time_point now);
  // A front end has a task for `cls` and no worker: spawns one if the class (a
  // configured one) has no live worker and none launching or scheduled.
  bool SpawnOnDemand(const std::string& cls, Clock::time_point now);

  // The pid launched with spawn token `token`, 0 if the token is unknown (not ours).
  pid_t PendingPid(const std::string& token) const;
  // The worker with `token` registered: its launch is no longer pending.
  void Registered(const std::string& token) { pending_.erase(token); }

  // Worker `w` is gone from the directory (its connection dropped): a launched process
  // still alive is hung and is killed; unless it was leaving or draining, a crash.
  void OnWorkerLost(const WorkerDirectory::Worker& w, const std::string& why, Clock::time_point now);
  // A launched process ended. True if it was a launch not yet registered (a crash).
  bool OnProcessExit(pid_t pid, const std::string& how, Clock::time_point now);
  void RecordCrash(const std::string& cls, const std::string& what, Clock::time_point now);

  // Launches that missed their deadline are killed and counted as crashes; then, unless
  // `adopting` (running workers are still re-registering), due restarts and the
  // SpawnPolicy of every class. Returns the ids it marked draining, to be told to drain.
  std::vector<std::string> Tick(Clock::time_point now, bool adopting);

  // Launching (not yet registered) plus restarts scheduled, of class `cls`.
  int PendingCount(const std::string& cls) const;
  uint64_t TotalCrashes(const std::string& cls) const;
  bool Suspended(const std::string& cls, Clock::time_point now) const;
  // Signals every process it launched that is still pending or registered.
  void SignalAll(int signal);

 private:
  struct PendingSpawn {
    std::string cls;
    pid_t pid = 0;
    Clock::time_point deadline;
  };
  struct ClassState {
    explicit ClassState(const Config& c);
    Clock::time_point last_spawn{};
    Clock::time_point light_since{};  // see ClassLoadView::light_since
    RestartBackoff backoff;
    std::vector<Clock::time_point> restarts_due;  // scheduled crash restarts
    bool suspended_reported = false;
  };
  void RunClassPolicy(const ClassConfig& cc, Clock::time_point now, std::vector<std::string>& reaped);
  ClassState& StateOf(const std::string& cls);
  int LaunchesAndLive(const std::string& cls) const;  // live workers + launches in flight

  const Config& config_;
  Launcher& launcher_;
  WorkerDirectory& directory_;
  const SpawnPolicy& policy_;
  std::string token_prefix_;
  std::vector<std::string> worker_args_;
  std::map<std::string, PendingSpawn> pending_;  // by spawn token
  std::map<std::string, ClassState> classes_;
  uint64_t next_token_ = 1;
};

}  // namespace tacc::sns
