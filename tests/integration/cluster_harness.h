// ClusterHarness: runs a real tacc cluster (`tacc up`) for an integration test.
//
// Each harness gets its own cluster name, beacon port and run directory, so tests can
// run in parallel. It listens to the cluster's beacons on a thread of its own, with the
// cluster key `tacc up` creates in the run directory (the tests' view of the cluster
// is exactly what front ends see), talks HTTP
// to the front ends, and on destruction stops `tacc up` and checks that every process
// of the cluster is gone. The test process holds a lifeline: if it dies, so does the
// cluster.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster_key.h"
#include "wire/cluster.pb.h"

namespace tacc::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct HttpReply {
  int status = 0;  // 0: no answer (connect failed, timeout, reset)
  std::string body;
  std::map<std::string, std::string> headers;  // by lower-case name
  std::string error;
  std::string Header(std::string name) const {  // any case
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One blocking HTTP/1.1 request on a fresh connection.
HttpReply HttpRequest(const std::string& host, int port, const std::string& method, const std::string& target,
                      const std::string& body = "", std::chrono::milliseconds timeout = 10s);
// The same with request header fields (name, value) of the test's choosing.
HttpReply HttpRequest(const std::string& host, int port, const std::string& method, const std::string& target, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers, std::chrono::milliseconds timeout = 10s);
// Writes raw bytes to host:port and returns what comes back until close or timeout.
std::string RawExchange(const std::string& host, int port, const std::string& bytes, std::chrono::milliseconds timeout = 3s);

// Like RawExchange, and tells whether the peer closed the connection (EOF or reset)
// before `timeout`, as opposed to staying silent.
struct RawOutcome {
  std::string reply;
  bool closed_by_peer = false;
};
RawOutcome RawExchangeUntilClosed(const std::string& host, int port, const std::string& bytes, std::chrono::milliseconds timeout = 3s);

// Runs `tacc <args>` to completion; returns exit code, stdout+stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunTacc(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 20s);

bool ProcessAlive(pid_t pid);

class ClusterHarness {
 public:
  struct Options {
    int frontends = 1;
    std::vector<std::string> settings;  // extra --set key=value
    std::string config_file{};          // --config FILE (the settings above still win)
    std::vector<std::string> up_flags{};  // extra flags of `tacc up` (e.g. --dispatch relay)
  };
  explicit ClusterHarness(Options options);
  ~ClusterHarness();

  // Starts `tacc up` and waits until the beacon lists all front ends.
  void Start(std::chrono::milliseconds timeout = 20s);
  // Starts `tacc <args> <this cluster's settings> --set <extra>...` in the background,
  // its output into the cluster log; Stop() kills it if it is still running.
  pid_t SpawnTacc(const std::vector<std::string>& args, const std::vector<std::string>& extra_settings = {});
  // SIGTERM to `tacc up`; waits until it and every pid ever seen in beacons are gone.
  // Returns false (with a message) if anything was left behind.
  bool Stop(std::string* leftover = nullptr);

  // Newest beacon (empty optional before the first).
  std::optional<wire::Beacon> Latest() const;
  // Every beacon received since start, in order, with its arrival time.
  std::vector<std::pair<Clock::time_point, wire::Beacon>> History() const;
  // Waits until `pred(beacon)` holds for a received beacon; returns it.
  std::optional<wire::Beacon> WaitFor(const std::function<bool(const wire::Beacon&)>& pred, std::chrono::milliseconds timeout);

  int FrontendPort(int index = 0) const;
  // The front end's admin listener (/_tacc/status, /_tacc/metrics, /_tacc/health), as
  // the newest beacon lists it; 0 if it does not.
  int AdminPort(int index = 0) const;
  HttpReply Get(const std::string& target, int frontend = 0, std::chrono::milliseconds timeout = 10s) const;
  HttpReply GetAdmin(const std::string& target, int frontend = 0, std::chrono::milliseconds timeout = 10s) const;
  const std::vector<std::string>& config_args() const { return config_args_; }  // --set ... for other commands
  const std::string& name() const { return name_; }
  std::string KeyFile() const { return run_dir_ + "/cluster.key"; }  // created by `tacc up`
  const std::string& run_dir() const { return run_dir_; }
  int beacon_port() const { return beacon_port_; }
  const ClusterKey& key() const { return *key_; }  // after Start()
  pid_t up_pid() const { return up_pid_; }
  std::string Log() const;  // everything the cluster printed so far

  static int CountWorkers(const wire::Beacon& b, const std::string& cls);
  // True once a beacon lists at least one worker of each class, within `timeout`.
  bool WaitForWorkers(const std::vector<std::string>& classes, std::chrono::milliseconds timeout = 20s);
  // A counter on a front end's metrics page: 0 before its first use (a counter appears
  // then), -1 if the page does not answer.
  int64_t Metric(const std::string& name, int frontend = 0) const;

 private:
  void ListenLoop();
  Options options_;
  std::string name_;
  std::string run_dir_;
  std::string log_path_;
  int beacon_port_;
  std::vector<std::string> config_args_;
  pid_t up_pid_ = -1;
  std::vector<pid_t> extra_pids_;
  std::optional<ClusterKey> key_;
  std::thread listener_;
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

// Load generator: `clients` threads, each sending GET `target` in a loop on keep-alive
// connections until Stop(). Counts answers by kind.
class LoadGenerator {
 public:
  struct Counts {
    uint64_t ok = 0;         // 200 from a worker
    uint64_t retried = 0;    // of those, answered after a failed attempt (X-Tacc-Attempts > 1)
    uint64_t fallback = 0;   // 200 with X-Tacc-Fallback
    uint64_t failed = 0;     // anything else (no answer, 5xx, ...)
    std::vector<std::string> failures;  // first few descriptions
  };
  LoadGenerator(std::string host, int port, std::string target, int clients);
  ~LoadGenerator();
  void Stop();
  Counts counts() const;

 private:
  void ClientLoop();
  std::string host_;
  int port_;
  std::string target_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  Counts counts_;
  std::atomic<bool> stop_{false};
};

}  // namespace tacc::testing
