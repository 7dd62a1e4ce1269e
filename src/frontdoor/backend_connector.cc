#include "frontdoor/backend_connector.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <vector>

namespace tacc::frontdoor {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {
asio::awaitable<boost::system::error_code> Connect(tcp::socket& s, tcp::endpoint ep) {
  auto [ec] = co_await s.async_connect(ep, kUseTuple);
  co_return ec;
}
asio::awaitable<void> Expire(asio::steady_timer& t) { co_await t.async_wait(kUseTuple); }
}  // namespace

asio::awaitable<Result<BackendConnection>> ConnectToBackend(BackendTable& table, PickPolicy& policy, PickContext ctx,
                                                            std::chrono::milliseconds timeout, int max_tries, TakeIdle take_idle) {
  auto ex = co_await asio::this_coro::executor;
  // Usually the first pick is taken: nothing is copied or allocated for it.
  boost::container::small_vector<std::string, 4> tried;
  std::vector<Candidate> filtered;
  const char* last_error = "no back end in rotation";
  std::string connect_error;
  for (int attempt = 0; attempt < max_tries; ++attempt) {
    std::span<const Candidate> candidates = table.Candidates();
    if (!tried.empty()) {
      filtered.clear();
      for (auto& c : candidates)
        if (std::find(tried.begin(), tried.end(), c.id) == tried.end()) filtered.push_back(c);
      candidates = filtered;
    }
    if (candidates.empty()) break;
    auto pick = policy.Pick(candidates, ctx);
    if (!pick || *pick >= candidates.size()) break;
    std::string id(candidates[*pick].id);
    tried.push_back(id);
    auto* state = table.Find(id);
    if (!state) continue;
    table.Opened(id);  // counted from the choice, so a burst does not all pick the same one
    if (take_idle) {
      if (auto kept = take_idle(id)) co_return BackendConnection{std::move(*kept), std::move(id), true};
    }
    boost::system::error_code aec;
    auto address = asio::ip::make_address(state->backend.spec.host, aec);
    tcp::endpoint endpoint(address, state->backend.spec.port);
    tcp::socket socket(ex);
    asio::steady_timer timer(ex, timeout);
    auto started = Clock::now();
    auto outcome = co_await (Connect(socket, endpoint) || Expire(timer));
    if (outcome.index() == 0 && !std::get<0>(outcome)) {
      table.ObserveResponse(id, std::chrono::duration<double, std::milli>(Clock::now() - started).count());
      table.ReportSuccess(id);
      socket.set_option(tcp::no_delay(true), aec);
      co_return BackendConnection{std::move(socket), std::move(id), false};
    }
    if (outcome.index() == 0) {
      connect_error = std::get<0>(outcome).message();
      last_error = connect_error.c_str();
    } else {
      last_error = "connect timed out";
    }
    policy.Done(id);  // this pick is over
    table.Closed(id);
    table.ReportFailure(id);
  }
  co_return Status::Unavailable(std::string("no back end could be reached: ") + last_error);
}

}  // namespace tacc::frontdoor
