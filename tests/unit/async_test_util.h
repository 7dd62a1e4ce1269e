// Helpers for unit tests that drive asio coroutines on one io_context.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <functional>

// ASSERT_TRUE for test coroutines: records the failure and leaves the coroutine.
#define CO_ASSERT_TRUE(cond)                          \
  do {                                                \
    if (!(cond)) {                                    \
      ADD_FAILURE() << "assertion failed: " << #cond; \
      co_return;                                      \
    }                                                 \
  } while (0)

namespace tacc::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `body` as a coroutine on `ctx` until it finishes (then stops the context, so
// connections left waiting do not hold the test up) or until `limit` passes, which is
// a test failure. Exceptions escaping the coroutine fail the test.
inline void RunCoroutine(asio::io_context& ctx, std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 5s) {
  bool done = false;
  std::exception_ptr error;
  ctx.restart();
  asio::co_spawn(ctx, body(), [&](std::exception_ptr e) {
    done = true;
    error = e;
    ctx.stop();
  });
  ctx.run_for(limit);
  ASSERT_TRUE(done) << "test coroutine did not finish within " << limit.count() << " ms";
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      FAIL() << "test coroutine threw: " << e.what();
    }
  }
}

// A one-shot event a coroutine can await with a time limit.
class Event {
 public:
  explicit Event(const asio::any_io_executor& ex) : timer_(ex) {}
  void Set() {
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const { return set_; }
  // True once Set() was called; false if `limit` passed first.
  asio::awaitable<bool> Wait(std::chrono::milliseconds limit = 2s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!set_ && std::chrono::steady_clock::now() < deadline) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return set_;
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

// Suspends the calling coroutine for `d` (for tests of time-driven behaviour only).
inline asio::awaitable<void> Pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace tacc::testing
