// PlayEngine: the playback engine of `tacc play` (SNS paper §4.1): offers load to the
// service in one of three ways and measures every request.
//
//   rate   open loop: arrivals at a rate (Poisson or evenly spaced), in steps, changeable
//          while it runs (SetRate); arrivals never wait for answers, so the offered load
//          is what was asked whatever the service does. Latency counts from the arrival,
//          so time spent waiting for a free connection is in it (no coordinated omission).
//   trace  open loop: each record of a trace at its own timestamp, divided by a speed-up.
//   users  closed loop: a population of users, each sending a request, waiting for its
//          answer, then thinking for a drawn time (SURGE-style).
// URLs come from the trace (in order, cycled in rate and users modes) or are one fixed
// URL. Everything runs on one io_context on the calling thread (one core), with a
// LoadClient for the connections. SetRate and RequestStop may be called from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "tools/arrival_schedule.h"
#include "tools/load_client.h"
#include "tools/play_stats.h"
#include "tools/request_builder.h"
#include "tools/think_time.h"
#include "tools/trace_record.h"

namespace tacc::tools {

enum class LoadMode { kRate, kTrace, kUsers };

struct PlayConfig {
  LoadMode mode = LoadMode::kRate;
  std::vector<RateStep> rate_steps{{0, 100}};  // kRate
  bool poisson = true;                         // kRate: exponential gaps, else even
  double speedup = 1;                          // kTrace
  bool loop_trace = false;                     // kTrace: start over at the end
  int users = 10;                              // kUsers
  std::optional<ThinkTime> think;              // kUsers (default exp:1s)
  double duration_s = 0;                       // 0: until the trace ends (kTrace) or max_requests
  uint64_t max_requests = 0;                   // 0: no limit
  uint64_t max_outstanding = 100000;           // arrivals beyond this many unanswered are dropped
  std::string fixed_url;                       // used when there is no trace
  std::string method = "GET";
  uint64_t seed = 1;
  int drain_ms = 30000;  // after the last arrival, wait at most this long for answers
};

// What the progress display shows, once a second.
struct PlayProgress {
  double elapsed_s = 0;
  double rate = 0;  // offered rate in force (kRate), else 0
  uint64_t offered = 0, answered = 0, failed = 0, approximate = 0;
  uint64_t in_flight = 0, connections = 0, waiting = 0;
  double answered_per_s = 0;  // in the last second
  double p50_us = 0, p99_us = 0;  // of the last second
};

class PlayEngine {
 public:
  // `trace` may be null (fixed_url then); it must outlive the engine.
  PlayEngine(PlayConfig config, const Trace* trace, RequestBuilder builder, std::vector<PlayTarget> targets, ChoicePolicy policy,
             ClientLimits limits);
  ~PlayEngine();

  // Checks that requests can be made (e.g. forward mode with path-only URLs and no
  // origin) before anything is sent.
  Status Validate() const;
  // Runs to the end; returns when every answer is in (or drain_ms passed).
  Status Run();
  void SetRate(double rate);  // kRate only; any thread
  void RequestStop();         // any thread: no more arrivals, then drain
  void StopNow();             // any thread: no drain
  // SIGINT/SIGTERM: the first stops arrivals and drains, the second stops at once.
  void StopOnSignals() { stop_on_signals_ = true; }

  void OnProgress(std::function<void(const PlayProgress&)> f) { progress_ = std::move(f); }
  // Every request's line goes here if set: "start_s end_s target status body_bytes approx error".
  void SetRequestLog(std::FILE* f) { request_log_ = f; }

  const PlayStats& stats() const { return stats_; }
  double elapsed_s() const;
  uint64_t connections_opened() const;

 private:
  using Clock = std::chrono::steady_clock;
  boost::asio::awaitable<void> ScheduleOpenLoop();
  boost::asio::awaitable<void> User(int index);
  boost::asio::awaitable<void> Request(size_t record, double scheduled_s);
  boost::asio::awaitable<void> Ticker();
  // The next open-loop arrival: (time s, record index); time = kNever when done.
  std::pair<double, size_t> NextArrival();
  size_t NextRecord();
  void MaybeFinish();
  void Finish();

  PlayConfig config_;
  const Trace* trace_;
  RequestBuilder builder_;
  boost::asio::io_context ctx_{1};
  std::unique_ptr<LoadClient> client_;
  std::vector<std::string> tokens_;            // per trace user
  std::vector<uint64_t> user_hashes_;
  std::vector<std::string> fixed_requests_;    // per target, when there is no trace
  PlayStats stats_;
  std::optional<ArrivalSchedule> schedule_;
  std::mt19937_64 rng_;
  Clock::time_point start_;
  boost::asio::steady_timer arrival_timer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer drain_timer_;
  size_t cursor_ = 0;          // next record (kRate, kUsers)
  uint64_t loops_ = 0;         // kTrace with loop_trace
  uint64_t arrivals_ = 0;
  uint64_t outstanding_ = 0;   // spawned requests not yet done
  int users_running_ = 0;
  bool arrivals_done_ = false;
  bool finished_ = false;
  bool draining_ = false;
  std::unordered_set<boost::asio::steady_timer*> user_timers_;
  bool stop_ = false;
  double pending_rate_ = -1;   // set from another thread via post
  std::function<void(const PlayProgress&)> progress_;
  std::FILE* request_log_ = nullptr;
  bool stop_on_signals_ = false;
  std::unique_ptr<boost::asio::signal_set> signals_;
  int signals_seen_ = 0;
  boost::asio::awaitable<void> WatchSignals();
  uint64_t last_answered_ = 0;
};

}  // namespace tacc::tools
