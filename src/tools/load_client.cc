#include "tools/load_client.h"

#include <netinet/tcp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <charconv>

namespace tacc::tools {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kSweepEvery = std::chrono::milliseconds(5);

// A response body that is counted, never kept: the engine measures, it does not store.
struct CountingBody {
  using value_type = uint64_t;
  static uint64_t size(value_type v) { return v; }
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& v) : v_(v) {}
    void init(const boost::optional<uint64_t>&, beast::error_code& ec) {
      v_ = 0;
      ec = {};
    }
    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      size_t n = asio::buffer_size(buffers);
      v_ += n;
      ec = {};
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& v_;
  };
};

PlayError Classify(const beast::error_code& ec, bool timed_out) {
  if (timed_out) return PlayError::kTimeout;
  if (ec == asio::error::connection_refused) return PlayError::kConnectRefused;
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return PlayError::kReset;
  if (ec == asio::error::eof || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return PlayError::kClosed;
  if (ec.category() == beast::error_code(bhttp::error::end_of_stream).category()) return PlayError::kBadResponse;
  return PlayError::kOther;
}

}  // namespace

struct LoadClient::Conn {
  Conn(asio::io_context& ctx, size_t t) : sock(ctx), target(t) {}
  tcp::socket sock;
  beast::flat_buffer buf;
  size_t target;
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
};

struct LoadClient::Waiter {
  explicit Waiter(asio::io_context& ctx) : timer(ctx, Clock::time_point::max()) {}
  asio::steady_timer timer;
  Conn* conn = nullptr;   // handed over
  bool may_open = false;  // a slot freed: open a new one
  bool woken = false;
};

std::string PlayTarget::authority() const { return fmt::format("{}:{}", host, port); }

Result<PlayTarget> ParsePlayTarget(const std::string& text) {
  PlayTarget t;
  auto colon = text.rfind(':');
  std::string_view port = colon == std::string::npos ? std::string_view(text) : std::string_view(text).substr(colon + 1);
  t.host = colon == std::string::npos || colon == 0 ? "127.0.0.1" : text.substr(0, colon);
  if (!t.host.empty() && t.host.front() == '[' && t.host.back() == ']') t.host = t.host.substr(1, t.host.size() - 2);
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    return Status::InvalidArgument(fmt::format("target '{}' is not host:port", text));
  }
  boost::system::error_code aec;
  asio::ip::make_address(t.host, aec);
  if (aec) return Status::InvalidArgument(fmt::format("target '{}': '{}' is not a numeric address", text, t.host));
  t.port = static_cast<uint16_t>(p);
  return t;
}

bool ParseChoicePolicy(std::string_view name, ChoicePolicy* out) {
  if (name == "round-robin" || name == "rr") {
    *out = ChoicePolicy::kRoundRobin;
  } else if (name == "random") {
    *out = ChoicePolicy::kRandom;
  } else if (name == "least-outstanding" || name == "least") {
    *out = ChoicePolicy::kLeastOutstanding;
  } else if (name == "user") {
    *out = ChoicePolicy::kUser;
  } else {
    return false;
  }
  return true;
}

LoadClient::LoadClient(asio::io_context& ctx, std::vector<PlayTarget> targets, ChoicePolicy policy, ClientLimits limits, uint64_t seed)
    : ctx_(ctx),
      targets_(std::move(targets)),
      policy_(policy),
      limits_(limits),
      rng_(seed),
      pools_(targets_.size()),
      alive_(std::make_shared<bool>(true)),
      sweep_timer_(ctx) {
  for (const auto& t : targets_) endpoints_.emplace_back(asio::ip::make_address(t.host), t.port);
}

LoadClient::~LoadClient() {
  *alive_ = false;
  for (Conn* c : all_) delete c;
}

uint64_t LoadClient::open_connections() const {
  uint64_t n = 0;
  for (const auto& p : pools_) n += static_cast<uint64_t>(p.open);
  return n;
}

size_t LoadClient::Choose(uint64_t user_hash) {
  const size_t n = targets_.size();
  if (n == 1) return 0;
  switch (policy_) {
    case ChoicePolicy::kRoundRobin:
      return next_++ % n;
    case ChoicePolicy::kRandom:
      return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
    case ChoicePolicy::kUser:
      return user_hash % n;
    case ChoicePolicy::kLeastOutstanding: {
      // Fewest in flight; ties go round the targets so that an idle cluster is still spread.
      size_t start = next_++ % n, best = start;
      for (size_t k = 1; k < n; ++k) {
        size_t i = (start + k) % n;
        if (pools_[i].in_flight < pools_[best].in_flight) best = i;
      }
      return best;
    }
  }
  return 0;
}

void LoadClient::Start() { asio::co_spawn(ctx_, SweepLoop(), asio::detached); }

void LoadClient::Stop() {
  *alive_ = false;
  sweep_timer_.cancel();
  for (Conn* c : all_) {
    beast::error_code ec;
    c->sock.close(ec);
  }
  for (auto& p : pools_) {
    for (auto& w : p.waiters) w->timer.cancel();
  }
}

asio::awaitable<void> LoadClient::SweepLoop() {
  auto alive = alive_;
  while (*alive) {
    sweep_timer_.expires_after(kSweepEvery);
    auto [ec] = co_await sweep_timer_.async_wait(kUseTuple);
    (void)ec;
    if (!*alive) co_return;
    Sweep();
  }
}

void LoadClient::Sweep() {
  auto now = Clock::now();
  for (Conn* c : busy_) {
    if (!c->timed_out && c->deadline <= now) {
      c->timed_out = true;
      beast::error_code ec;
      c->sock.close(ec);
    }
  }
}

asio::awaitable<LoadClient::Conn*> LoadClient::Open(size_t t, PlayError* error) {
  auto* c = new Conn(ctx_, t);
  all_.insert(c);
  ++pools_[t].open;
  ++opened_;
  c->deadline = Clock::now() + std::chrono::milliseconds(limits_.connect_timeout_ms);
  busy_.insert(c);
  auto alive = alive_;
  auto [ec] = co_await c->sock.async_connect(endpoints_[t], kUseTuple);
  if (!*alive) co_return nullptr;
  busy_.erase(c);
  if (ec || c->timed_out) {
    *error = c->timed_out ? PlayError::kConnectTimeout : Classify(ec, false);
    if (*error == PlayError::kOther && ec == asio::error::timed_out) *error = PlayError::kConnectTimeout;
    Release(c, false);
    co_return nullptr;
  }
  beast::error_code ignored;
  c->sock.set_option(tcp::no_delay(true), ignored);
  co_return c;
}

asio::awaitable<LoadClient::Conn*> LoadClient::Acquire(size_t t, PlayError* error, bool* reused, bool fresh) {
  Pool& p = pools_[t];
  *reused = false;
  // A retry after a stale connection opens a new one: the next idle one may be as old.
  if (fresh && p.open < limits_.max_connections_per_target) co_return co_await Open(t, error);
  if (!p.idle.empty()) {
    Conn* c = p.idle.back();
    p.idle.pop_back();
    *reused = true;
    co_return c;
  }
  if (p.open < limits_.max_connections_per_target) co_return co_await Open(t, error);
  auto w = std::make_shared<Waiter>(ctx_);
  p.waiters.push_back(w);
  ++waiting_;
  auto alive = alive_;
  co_await w->timer.async_wait(kUseTuple);
  if (!*alive) {
    *error = PlayError::kOther;
    co_return nullptr;
  }
  --waiting_;
  if (w->conn) {
    *reused = true;
    co_return w->conn;
  }
  if (w->may_open) co_return co_await Open(t, error);
  *error = PlayError::kOther;  // stopped
  co_return nullptr;
}

void LoadClient::Release(Conn* c, bool reusable) {
  Pool& p = pools_[c->target];
  c->deadline = Clock::time_point::max();
  if (!reusable || c->timed_out) {
    beast::error_code ec;
    c->sock.close(ec);
    all_.erase(c);
    --p.open;
    delete c;
    if (!p.waiters.empty()) {
      auto w = p.waiters.front();
      p.waiters.pop_front();
      w->may_open = true;
      w->timer.cancel();
    }
    return;
  }
  if (!p.waiters.empty()) {
    auto w = p.waiters.front();
    p.waiters.pop_front();
    w->conn = c;
    w->timer.cancel();
    return;
  }
  p.idle.push_back(c);
}

asio::awaitable<Outcome> LoadClient::Exchange(size_t t, const std::string& request, bool head) {
  Outcome out;
  out.target = t;
  Pool& p = pools_[t];
  ++p.in_flight;
  ++in_flight_total_;
  auto alive = alive_;
  struct Done {
    LoadClient* self;
    Pool& p;
    std::shared_ptr<bool> alive;
    ~Done() {
      if (*alive) {
        --p.in_flight;
        --self->in_flight_total_;
      }
    }
  } done{this, p, alive};
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    PlayError error = PlayError::kOther;
    Conn* c = co_await Acquire(t, &error, &reused, /*fresh=*/attempt > 0);
    if (!*alive) co_return out;
    if (!c) {
      out.error = error;
      co_return out;
    }
    c->deadline = Clock::now() + std::chrono::milliseconds(limits_.request_timeout_ms);
    c->timed_out = false;
    busy_.insert(c);
    auto [wec, written] = co_await asio::async_write(c->sock, asio::buffer(request), kUseTuple);
    if (!*alive) co_return out;
    bhttp::response_parser<CountingBody> parser;
    parser.body_limit(boost::none);
    parser.header_limit(64 * 1024);
    if (head) parser.skip(true);
    beast::error_code ec = wec;
    size_t read = 0;
    if (!ec) {
      auto [rec, n] = co_await bhttp::async_read(c->sock, c->buf, parser, kUseTuple);
      if (!*alive) co_return out;
      ec = rec;
      read = n;
    }
    busy_.erase(c);
    out.answer.bytes_out = written;
    if (ec || c->timed_out) {
      bool stale = reused && !c->timed_out && read == 0 && attempt == 0 &&
                   (ec == asio::error::eof || ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                    ec == asio::error::broken_pipe);
      out.error = Classify(ec, c->timed_out);
      Release(c, false);
      if (stale) continue;  // the server closed it while idle: once more on a fresh one
      co_return out;
    }
    const auto& msg = parser.get();
    out.ok = true;
    out.answer.status = static_cast<int>(msg.result_int());
    out.answer.bytes_in = read;
    out.answer.body_bytes = msg.body();
    out.answer.approximate = msg.find("X-Tacc-Approximate") != msg.end() || msg.find("X-Tacc-Fallback") != msg.end();
    auto cache = msg.find("X-Tacc-Cache");
    // "hit" (the original, or an answer that needed no transformation) and "variant-hit"
    // (a distilled variant) came from the cache; "miss" and "revalidated" went to the origin.
    out.answer.cache_hit = cache != msg.end() && (cache->value().substr(0, 3) == "hit" || cache->value() == "variant-hit");
    Release(c, limits_.keep_alive && parser.keep_alive());
    co_return out;
  }
  co_return out;
}

}  // namespace tacc::tools
