// WorkerDirectory: the manager's soft-state table of registered workers (paper §2.2.4).
//
// Filled only by registrations and load reports, it holds one record per worker, found
// by id or by the connection it registered on. One connection is one worker: a second
// registration on a connection is refused, so one peer cannot speak for (and be counted
// as) many. A worker that registers again under its id on a new connection supersedes
// its old record (the old connection is stale; the caller closes it). Load reports are
// smoothed (EWMA, manager.load_smoothing); a NaN or negative load is refused.
//
// Pure bookkeeping: no sockets (a connection is an opaque key the caller chooses), no
// clock (time is passed in as `now`), so it is unit-tested with fake time. The manager
// owns it; WorkerSupervisor reads it (live counts) and marks workers draining.
// Thread safety: none; the manager uses it from its io_context thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::sns {

class WorkerDirectory {
 public:
  using Clock = std::chrono::steady_clock;
  using ConnKey = const void*;  // identifies a connection; never dereferenced

  // Live (registered, not draining) workers of one class and the sum of their smoothed
  // loads, kept as records come and go and reports arrive, so the policy tick reads a
  // class's size and mean load without walking every worker.
  struct ClassTotals {
    int live = 0;
    double load = 0;
  };

  struct Worker {
    std::string id, cls, host;
    wire::Endpoint address;
    pid_t pid = 0;           // as the worker reported it: for logs and status only
    pid_t launched_pid = 0;  // set only if our launcher started it: the only pid ever signalled
    ConnKey conn = nullptr;
    double load = 0;  // smoothed
    uint32_t queue = 0;
    uint64_t completed = 0;
    Clock::time_point last_busy;
    bool draining = false;  // being reaped: not counted live, not announced
    bool leaving = false;   // deregistered: not a crash when the connection drops
    ClassTotals* totals = nullptr;  // its class's (a node of totals_: stays put)
    uint64_t report_token = 0;      // its load announcements carry it (0: none, reports over TCP)
    uint64_t last_report_seq = 0;   // of the newest announcement taken
    Clock::time_point last_heard;   // newest load report, by datagram or over TCP
  };

  // What became of one load announcement (a datagram).
  enum class Announcement {
    kTaken,
    kUnknownToken,  // no registered worker has it (left, superseded, or forged by a key holder)
    kReplayed,      // seq not newer than one already taken
    kBadLoad,       // NaN or negative
  };

  struct Registration {
    std::string id, cls, host;
    wire::Endpoint address;
    pid_t pid = 0;
    pid_t launched_pid = 0;  // from the spawn token, 0 if not launched by us
    uint64_t report_token = 0;  // for its load announcements; unique, or 0 for none
  };

  // `smoothing`: weight of a new report in the smoothed load (0 < a <= 1).
  explicit WorkerDirectory(double smoothing) : smoothing_(smoothing) {}

  // Records `r` as the worker on `conn`. InvalidArgument if `conn` already carries a
  // worker. If another connection carries a worker of the same id, that record is
  // dropped (not a crash) and its connection returned, for the caller to close;
  // otherwise returns nullptr.
  Result<ConnKey> Register(ConnKey conn, Registration r, Clock::time_point now);

  // Smooths a report into the worker on `conn`. NotFound if `conn` carries no worker
  // (a report before registration), InvalidArgument for a NaN or negative load.
  Status Report(ConnKey conn, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now);

  // A load announcement: as Report, for the worker registered with `token`, if `seq` is
  // newer than the last one taken from it.
  Announcement Announce(uint64_t token, uint64_t seq, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now);
  // True if `token` is in use by a registered worker (the manager draws them at random).
  bool HasToken(uint64_t token) const { return by_token_.contains(token); }
  // Connections of workers with no load report since `now - timeout` (nor since they
  // registered): silent, to be closed. A walk over every worker.
  std::vector<ConnKey> Silent(Clock::time_point now, Clock::duration timeout) const;

  // The worker on `conn` deregistered: its connection dropping is no crash.
  void MarkLeaving(ConnKey conn);
  // Marks worker `id` draining; false if unknown or already draining.
  bool MarkDraining(const std::string& id);
  // Removes and returns the worker on `conn`, if any.
  std::optional<Worker> Remove(ConnKey conn);

  bool HasConnection(ConnKey conn) const { return by_conn_.contains(conn); }
  const Worker* Find(const std::string& id) const;
  const Worker* FindByConn(ConnKey conn) const;
  // Registered and not draining, of class `cls`; and their mean smoothed load.
  int Live(const std::string& cls) const;
  double MeanLoad(const std::string& cls) const;
  size_t size() const { return workers_.size(); }
  // By id: ids start with the class, so a walk visits one class's workers together.
  const std::map<std::string, Worker>& workers() const { return workers_; }

 private:
  double smoothing_;
  // Smooths a validated report into `w`.
  void Take(Worker& w, double weighted_load, uint32_t queue, uint64_t completed, Clock::time_point now);
  // Counts `w` in (sign +1) or out of (-1) its class's totals.
  void Count(Worker& w, int sign);

  std::map<std::string, Worker> workers_;  // by id
  std::map<std::string, ClassTotals, std::less<>> totals_;  // by class
  // Straight to the record (std::map nodes stay put): a load report costs one probe of
  // a flat table (10,000 workers: 160 KB, mostly in cache), not a tree walk by string
  // nor the bucket-then-node cache misses of std::unordered_map (9% of the manager's
  // CPU at 20,000 reports a second, measured by perf).
  boost::unordered_flat_map<ConnKey, Worker*> by_conn_;
  boost::unordered_flat_map<uint64_t, Worker*> by_token_;  // likewise, for load announcements
};

}  // namespace tacc::sns
