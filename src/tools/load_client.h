// LoadClient: the HTTP/1.1 client side of `tacc play`: keep-alive connection pools to
// one or more targets (front ends, a dispatcher), a choice among them per request
// (round robin, random, fewest outstanding, or by user: a simple client-side director),
// and one request-answer exchange that says how it went (an Answer, or a PlayError).
//
// Built to cost little per request, so that the engine is not the bottleneck: requests
// are pre-serialised bytes, answers are parsed by Beast with a body that only counts its
// bytes, and deadlines are enforced by one sweep every few milliseconds that closes the
// sockets of overdue exchanges (no timer per request). A connection that the server
// closed while it sat idle is replaced once, by a new one, transparently (as browsers do).
// One io_context thread; not thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "tools/play_stats.h"

namespace tacc::tools {

struct PlayTarget {
  std::string host;  // numeric address
  uint16_t port = 0;
  std::string authority() const;  // "host:port"
};
// "127.0.0.1:8080" (host defaults to 127.0.0.1 for ":8080" or "8080").
Result<PlayTarget> ParsePlayTarget(const std::string& text);

enum class ChoicePolicy { kRoundRobin, kRandom, kLeastOutstanding, kUser };
bool ParseChoicePolicy(std::string_view name, ChoicePolicy* out);

struct ClientLimits {
  int max_connections_per_target = 256;  // beyond: requests wait for a free connection
  int connect_timeout_ms = 3000;
  int request_timeout_ms = 30000;  // from the first byte written to the last byte read
  bool keep_alive = true;
};

struct Outcome {
  bool ok = false;
  PlayError error = PlayError::kOther;
  Answer answer;
  size_t target = 0;
};

class LoadClient {
 public:
  LoadClient(boost::asio::io_context& ctx, std::vector<PlayTarget> targets, ChoicePolicy policy, ClientLimits limits, uint64_t seed);
  ~LoadClient();
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // The target for a request by the user with hash `user_hash` (used by kUser only).
  size_t Choose(uint64_t user_hash);
  // Sends `request` (whole, serialised) to target `t` and reads its answer. `head`: the
  // answer has no body (HEAD).
  boost::asio::awaitable<Outcome> Exchange(size_t t, const std::string& request, bool head);
  // Starts the deadline sweep; Stop() ends it and closes every connection.
  void Start();
  void Stop();

  const std::vector<PlayTarget>& targets() const { return targets_; }
  uint64_t in_flight() const { return in_flight_total_; }
  uint64_t open_connections() const;
  uint64_t connections_opened() const { return opened_; }
  uint64_t waiting() const { return waiting_; }  // requests waiting for a connection

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn;
  struct Waiter;
  struct Pool {
    std::vector<Conn*> idle;
    std::deque<std::shared_ptr<Waiter>> waiters;
    int open = 0;
    uint64_t in_flight = 0;
  };
  // A connection to target t, reused or new (`fresh`: new, unless the pool is full);
  // null with *error if none could be had.
  boost::asio::awaitable<Conn*> Acquire(size_t t, PlayError* error, bool* reused, bool fresh);
  boost::asio::awaitable<Conn*> Open(size_t t, PlayError* error);
  void Release(Conn* c, bool reusable);
  void Sweep();
  boost::asio::awaitable<void> SweepLoop();

  boost::asio::io_context& ctx_;
  std::vector<PlayTarget> targets_;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  ChoicePolicy policy_;
  ClientLimits limits_;
  std::mt19937_64 rng_;
  size_t next_ = 0;
  std::vector<Pool> pools_;
  std::unordered_set<Conn*> busy_;  // exchanges (and connects) under a deadline
  std::unordered_set<Conn*> all_;
  uint64_t in_flight_total_ = 0;
  uint64_t opened_ = 0;
  uint64_t waiting_ = 0;
  std::shared_ptr<bool> alive_;
  boost::asio::steady_timer sweep_timer_;
};

}  // namespace tacc::tools
