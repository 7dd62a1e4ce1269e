// OriginPool: the proxy's connections to origins, kept per origin (issue 7).
//
// Two limits per origin ("https://host:port"): at most max_per_origin connections in use
// or idle at once (a request over it waits, within its connect deadline, for one to be
// freed: an origin is never flooded by one front-end thread), and at most
// max_idle_per_origin idle ones kept for reuse, plus max_idle_total idle ones over all
// origins (the oldest go first). An idle connection older than idle_timeout_ms, or one
// the origin has closed or written to, is dropped instead of reused.
//
// A Lease is one slot of an origin: it holds a connection while a request uses it and
// gives the slot back (and the connection, if reusable) when it ends. Leases may
// outlive the pool's owner: they share the pool's state.
//
// Thread safety: none; one pool per event-loop thread (per service instance).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/origin_connection.h"

namespace tacc::http {

struct OriginPoolLimits {
  int max_per_origin = 256;
  int max_idle_per_origin = 32;
  int max_idle_total = 512;
  int idle_timeout_ms = 15000;
};

struct OriginPoolCounters {
  uint64_t opened = 0;  // connections made by the caller for a lease (CountOpened)
  uint64_t reused = 0;  // requests sent on a kept connection
  uint64_t waited = 0;  // acquisitions that had to wait for a slot
  uint64_t wait_timeouts = 0;
};

class OriginPool {
 public:
  explicit OriginPool(OriginPoolLimits limits);
  ~OriginPool();

  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&&) noexcept;
    ~Lease();
    // The connection: a kept one after Acquire, or null (then Set() a new one).
    OriginConnection* connection() { return conn_.get(); }
    void Set(std::unique_ptr<OriginConnection> c) { conn_ = std::move(c); }
    // The request's answer was read whole and the connection may carry another.
    void MarkReusable() { reusable_ = true; }
    // Gives the slot (and the connection, if marked reusable and still usable) back now.
    void Release();
    bool reused() const { return reused_; }

   private:
    friend class OriginPool;
    struct State;
    std::shared_ptr<State> pool_;
    std::string key_;
    std::unique_ptr<OriginConnection> conn_;
    bool reusable_ = false;
    bool reused_ = false;
    bool held_ = false;
  };

  // A slot for `key`, with a kept connection if one is usable. Waits for a slot until
  // `deadline` if the origin has max_per_origin connections (then Timeout).
  boost::asio::awaitable<Result<Lease>> Acquire(const std::string& key, std::chrono::steady_clock::time_point deadline);

  const OriginPoolCounters& counters() const;
  void CountOpened();
  int idle_connections() const;
  int busy_connections(const std::string& key) const;

 private:
  std::shared_ptr<Lease::State> state_;
};

}  // namespace tacc::http
