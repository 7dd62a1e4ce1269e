#include "http/origin_pool.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tacc::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
struct Waiter {
  explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
  asio::steady_timer timer;
  bool granted = false;
};
}  // namespace

struct OriginPool::Lease::State {
  explicit State(OriginPoolLimits l) : limits(l) {}
  struct Origin {
    int busy = 0;                                             // slots held by leases
    std::deque<std::unique_ptr<OriginConnection>> idle;       // newest at the back
    std::deque<std::shared_ptr<Waiter>> waiters;
  };
  OriginPoolLimits limits;
  std::map<std::string, Origin> origins;
  // Every idle connection in order of going idle, to drop the oldest over max_idle_total.
  std::list<std::pair<std::string, OriginConnection*>> idle_order;
  int idle_total = 0;
  OriginPoolCounters counters;
  bool alive = true;

  void DropIdle(Origin& o, const std::string& key, OriginConnection* c) {
    for (auto it = o.idle.begin(); it != o.idle.end(); ++it)
      if (it->get() == c) {
        (*it)->Close();
        o.idle.erase(it);
        break;
      }
    for (auto it = idle_order.begin(); it != idle_order.end(); ++it)
      if (it->second == c && it->first == key) {
        idle_order.erase(it);
        break;
      }
    --idle_total;
  }

  // Takes a kept connection of `o` that is still usable, newest first.
  std::unique_ptr<OriginConnection> TakeIdle(Origin& o, const std::string& key) {
    const auto now = Clock::now();
    while (!o.idle.empty()) {
      std::unique_ptr<OriginConnection> c = std::move(o.idle.back());
      o.idle.pop_back();
      --idle_total;
      for (auto it = idle_order.begin(); it != idle_order.end(); ++it)
        if (it->second == c.get()) {
          idle_order.erase(it);
          break;
        }
      if (now - c->idle_since < std::chrono::milliseconds(limits.idle_timeout_ms) && c->Reusable()) return c;
      c->Close();
    }
    (void)key;
    return nullptr;
  }

  void Give(const std::string& key, std::unique_ptr<OriginConnection> c, bool reusable) {
    auto it = origins.find(key);
    if (it == origins.end()) return;
    Origin& o = it->second;
    // Whether the origin closed it meanwhile is asked when it is taken again (TakeIdle):
    // one system call per request, not two.
    if (c && reusable && alive && limits.max_idle_per_origin > 0 && c->buffer().size() == 0 && c->tcp().socket().is_open()) {
      c->idle_since = Clock::now();
      if (static_cast<int>(o.idle.size()) >= limits.max_idle_per_origin) DropIdle(o, key, o.idle.front().get());
      idle_order.emplace_back(key, c.get());
      o.idle.push_back(std::move(c));
      ++idle_total;
      while (idle_total > limits.max_idle_total && !idle_order.empty()) {
        auto [k, oldest] = idle_order.front();
        DropIdle(origins[k], k, oldest);
      }
    } else if (c) {
      c->Close();
    }
    // The slot goes to the first waiter, if any, else back to the origin.
    while (!o.waiters.empty()) {
      auto w = o.waiters.front();
      o.waiters.pop_front();
      w->granted = true;
      w->timer.cancel();
      return;  // busy stays: the waiter holds the slot now
    }
    --o.busy;
    if (o.busy == 0 && o.idle.empty()) origins.erase(it);
  }
};

OriginPool::Lease& OriginPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    key_ = std::move(other.key_);
    conn_ = std::move(other.conn_);
    reusable_ = other.reusable_;
    reused_ = other.reused_;
    held_ = other.held_;
    other.held_ = false;
  }
  return *this;
}

OriginPool::Lease::~Lease() { Release(); }

void OriginPool::Lease::Release() {
  if (!held_) return;
  held_ = false;
  pool_->Give(key_, std::move(conn_), reusable_);
  pool_.reset();
}

OriginPool::OriginPool(OriginPoolLimits limits) : state_(std::make_shared<Lease::State>(limits)) {}

OriginPool::~OriginPool() {
  state_->alive = false;
  for (auto& [k, o] : state_->origins)
    for (auto& c : o.idle) c->Close();
}

asio::awaitable<Result<OriginPool::Lease>> OriginPool::Acquire(const std::string& key, Clock::time_point deadline) {
  auto& st = *state_;
  auto& o = st.origins[key];
  Lease lease;
  lease.pool_ = state_;
  lease.key_ = key;
  if (o.busy < st.limits.max_per_origin) {
    ++o.busy;
  } else {
    ++st.counters.waited;
    auto w = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    o.waiters.push_back(w);
    w->timer.expires_at(deadline);
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!w->granted) {
      auto& again = st.origins[key];
      std::erase(again.waiters, w);
      ++st.counters.wait_timeouts;
      co_return Status::Timeout(fmt::format("{} already has {} connections from this thread (proxy.max_connections_per_origin); none was freed in time",
                                            key, st.limits.max_per_origin));
    }
  }
  lease.held_ = true;
  lease.conn_ = st.TakeIdle(st.origins[key], key);
  if (lease.conn_) {
    lease.reused_ = true;
    ++st.counters.reused;
  }
  co_return lease;
}

const OriginPoolCounters& OriginPool::counters() const { return state_->counters; }
void OriginPool::CountOpened() { ++state_->counters.opened; }
int OriginPool::idle_connections() const { return state_->idle_total; }
int OriginPool::busy_connections(const std::string& key) const {
  auto it = state_->origins.find(key);
  return it == state_->origins.end() ? 0 : it->second.busy;
}

}  // namespace tacc::http
