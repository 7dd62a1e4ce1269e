#include "tools/play_engine.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tacc::tools {

namespace asio = boost::asio;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

uint64_t HashName(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h ^ (h >> 29);
}
}  // namespace

PlayEngine::PlayEngine(PlayConfig config, const Trace* trace, RequestBuilder builder, std::vector<PlayTarget> targets, ChoicePolicy policy,
                       ClientLimits limits)
    : config_(std::move(config)),
      trace_(trace && !trace->records.empty() ? trace : nullptr),
      builder_(std::move(builder)),
      rng_(config_.seed),
      arrival_timer_(ctx_),
      tick_timer_(ctx_),
      drain_timer_(ctx_) {
  client_ = std::make_unique<LoadClient>(ctx_, std::move(targets), policy, limits, config_.seed ^ 0x5eedULL);
  if (trace_) {
    tokens_.reserve(trace_->users.size());
    for (const auto& u : trace_->users) {
      tokens_.push_back(UserToken(u));
      user_hashes_.push_back(HashName(u));
    }
  }
  if (!config_.think) config_.think = ThinkTime::Parse("exp:1s").value();
  if (config_.mode == LoadMode::kRate) schedule_.emplace(config_.rate_steps, config_.poisson, config_.seed);
}

PlayEngine::~PlayEngine() = default;

Status PlayEngine::Validate() const {
  if (client_->targets().empty()) return Status::InvalidArgument("no target to send requests to");
  if (config_.mode == LoadMode::kTrace && !trace_) return Status::InvalidArgument("trace playback needs a trace with at least one request");
  if (!trace_ && config_.fixed_url.empty()) return Status::InvalidArgument("no trace and no URL: nothing to ask for");
  if (config_.mode != LoadMode::kTrace && config_.duration_s <= 0 && config_.max_requests == 0) {
    return Status::InvalidArgument("open-ended run: give a duration or a number of requests");
  }
  const std::string& url = trace_ ? trace_->records.front().url : config_.fixed_url;
  auto r = builder_.Build(config_.method, url, "", client_->targets().front().authority());
  if (!r.ok()) return r.status();
  return Status::Ok();
}

double PlayEngine::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

uint64_t PlayEngine::connections_opened() const { return client_->connections_opened(); }

void PlayEngine::SetRate(double rate) {
  asio::post(ctx_, [this, rate] {
    if (!schedule_ || finished_ || arrivals_done_) return;
    schedule_->SetRate(elapsed_s(), std::max(0.0, rate));
    pending_rate_ = rate;
    arrival_timer_.cancel();
  });
}

void PlayEngine::RequestStop() {
  asio::post(ctx_, [this] {
    stop_ = true;
    arrivals_done_ = true;
    arrival_timer_.cancel();
    for (auto* t : user_timers_) t->cancel();
    MaybeFinish();
  });
}

void PlayEngine::StopNow() {
  asio::post(ctx_, [this] {
    stop_ = true;
    arrivals_done_ = true;
    Finish();
  });
}

size_t PlayEngine::NextRecord() {
  if (!trace_) return SIZE_MAX;
  size_t i = cursor_++ % trace_->records.size();
  return i;
}

std::pair<double, size_t> PlayEngine::NextArrival() {
  if (config_.max_requests && arrivals_ >= config_.max_requests) return {ArrivalSchedule::kNever, 0};
  double t = ArrivalSchedule::kNever;
  size_t record = SIZE_MAX;
  if (config_.mode == LoadMode::kRate) {
    t = schedule_->Next();
    record = NextRecord();
  } else {
    const auto& recs = trace_->records;
    if (cursor_ >= recs.size()) {
      if (!config_.loop_trace) return {ArrivalSchedule::kNever, 0};
      cursor_ = 0;
      ++loops_;
    }
    record = cursor_++;
    // One loop lasts the trace's span plus its mean gap, so the seam is not a burst.
    double span = static_cast<double>(recs.back().t_us - recs.front().t_us) * (1.0 + 1.0 / static_cast<double>(recs.size()));
    t = (static_cast<double>(recs[record].t_us - recs.front().t_us) + static_cast<double>(loops_) * span) / 1e6 / config_.speedup;
  }
  if (config_.duration_s > 0 && t >= config_.duration_s) return {ArrivalSchedule::kNever, 0};
  return {t, record};
}

asio::awaitable<void> PlayEngine::ScheduleOpenLoop() {
  auto [next, record] = NextArrival();
  while (!stop_ && next != ArrivalSchedule::kNever) {
    double now = elapsed_s();
    // Every arrival that is due goes out now: at high rates one wake-up sends many.
    while (next <= now && !stop_) {
      ++arrivals_;
      stats_.Offered(next);
      if (outstanding_ >= config_.max_outstanding) {
        stats_.Failed(next, PlayError::kDropped, 0);
      } else {
        ++outstanding_;
        asio::co_spawn(ctx_, Request(record, next), asio::detached);
      }
      std::tie(next, record) = NextArrival();
    }
    if (stop_ || next == ArrivalSchedule::kNever) break;
    arrival_timer_.expires_at(start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next)));
    auto [ec] = co_await arrival_timer_.async_wait(kUseTuple);
    (void)ec;  // woken early (a rate change, a stop): the loop looks again
    if (pending_rate_ >= 0) {  // the rate changed: the next arrival is drawn afresh
      pending_rate_ = -1;
      std::tie(next, record) = NextArrival();
    }
  }
  arrivals_done_ = true;
  MaybeFinish();
}

asio::awaitable<void> PlayEngine::User(int index) {
  std::mt19937_64 rng(config_.seed * 1000003ULL + static_cast<uint64_t>(index));
  // Users start spread over one think time, not all at once.
  double first = std::uniform_real_distribution<double>(0, 1)(rng) * std::min(1.0, config_.think->mean_s());
  asio::steady_timer timer(ctx_);
  user_timers_.insert(&timer);
  timer.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(first)));
  co_await timer.async_wait(kUseTuple);
  while (!stop_ && !finished_) {
    double now = elapsed_s();
    if (config_.duration_s > 0 && now >= config_.duration_s) break;
    if (config_.max_requests && arrivals_ >= config_.max_requests) break;
    ++arrivals_;
    ++outstanding_;
    stats_.Offered(now);
    co_await Request(NextRecord(), now);
    if (stop_ || finished_) break;
    double think = config_.think->Draw(rng);
    if (config_.duration_s > 0) think = std::min(think, std::max(0.0, config_.duration_s - elapsed_s()));
    timer.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(think)));
    co_await timer.async_wait(kUseTuple);
  }
  user_timers_.erase(&timer);
  if (--users_running_ == 0) {
    arrivals_done_ = true;
    MaybeFinish();
  }
}

asio::awaitable<void> PlayEngine::Request(size_t record, double scheduled_s) {
  const TraceRecord* rec = record == SIZE_MAX ? nullptr : &trace_->records[record];
  uint64_t user_hash = rec ? user_hashes_[rec->user] : 0;
  size_t t = client_->Choose(user_hash);
  Result<std::string> built = Status::Internal("unset");
  const std::string* request = nullptr;
  if (rec) {
    built = builder_.Build(rec->method, rec->url, tokens_[rec->user], client_->targets()[t].authority());
    if (built.ok()) request = &*built;
  } else {
    request = &fixed_requests_[t];
  }
  bool head = rec ? rec->method == "HEAD" : config_.method == "HEAD";
  Outcome out;
  if (request) {
    out = co_await client_->Exchange(t, *request, head);
  } else {
    out.error = PlayError::kBadUrl;
  }
  if (finished_) co_return;
  double end = elapsed_s();
  if (out.ok) {
    stats_.Answered(end, (end - scheduled_s) * 1e6, out.answer);
  } else {
    stats_.Failed(end, out.error, out.answer.bytes_out);
  }
  if (request_log_) {
    fmt::print(request_log_, "{:.6f} {:.6f} {} {} {} {} {}\n", scheduled_s, end, t, out.ok ? out.answer.status : 0, out.answer.body_bytes,
               out.answer.approximate ? 1 : 0, out.ok ? "-" : PlayErrorName(out.error));
  }
  --outstanding_;
  MaybeFinish();
}

asio::awaitable<void> PlayEngine::Ticker() {
  int second = 0;
  while (!finished_) {
    ++second;
    tick_timer_.expires_at(start_ + std::chrono::seconds(second));
    auto [ec] = co_await tick_timer_.async_wait(kUseTuple);
    (void)ec;
    if (finished_) break;
    double now = elapsed_s();
    stats_.InFlight(now, client_->in_flight());
    if (!progress_) continue;
    PlayProgress p;
    p.elapsed_s = now;
    p.rate = schedule_ ? schedule_->RateAt(now) : 0;
    p.offered = stats_.offered();
    p.answered = stats_.answered();
    p.failed = stats_.failed();
    p.approximate = stats_.approximate();
    p.in_flight = client_->in_flight();
    p.connections = client_->open_connections();
    p.waiting = client_->waiting();
    p.answered_per_s = static_cast<double>(p.answered - last_answered_);
    last_answered_ = p.answered;
    const auto& secs = stats_.seconds();
    size_t last = static_cast<size_t>(now) - 1;
    if (last < secs.size()) {
      auto q = secs[last].latency.Quantiles({0.5, 0.99});
      p.p50_us = q[0];
      p.p99_us = q[1];
    }
    progress_(p);
  }
}

asio::awaitable<void> PlayEngine::WatchSignals() {
  while (!finished_) {
    auto [ec, sig] = co_await signals_->async_wait(kUseTuple);
    if (ec || finished_) co_return;
    if (++signals_seen_ == 1) {
      stop_ = true;
      arrivals_done_ = true;
      arrival_timer_.cancel();
      for (auto* t : user_timers_) t->cancel();
      MaybeFinish();
    } else {
      Finish();
    }
  }
}

void PlayEngine::MaybeFinish() {
  if (finished_ || !arrivals_done_) return;
  if (outstanding_ == 0) {
    Finish();
    return;
  }
  // Arrivals are over: the answers still out get drain_ms, then the run ends anyway.
  if (!draining_) {
    draining_ = true;
    drain_timer_.expires_after(std::chrono::milliseconds(config_.drain_ms));
    drain_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) Finish();
    });
  }
}

void PlayEngine::Finish() {
  if (finished_) return;
  finished_ = true;
  arrival_timer_.cancel();
  tick_timer_.cancel();
  drain_timer_.cancel();
  for (auto* t : user_timers_) t->cancel();
  if (signals_) signals_->cancel();
  client_->Stop();
}

Status PlayEngine::Run() {
  if (Status s = Validate(); !s.ok()) return s;
  if (!trace_) {
    for (const auto& target : client_->targets()) {
      auto r = builder_.Build(config_.method, config_.fixed_url, "", target.authority());
      if (!r.ok()) return r.status();
      fixed_requests_.push_back(*r);
    }
  }
  start_ = Clock::now();
  client_->Start();
  if (stop_on_signals_) {
    signals_ = std::make_unique<asio::signal_set>(ctx_, SIGINT, SIGTERM);
    asio::co_spawn(ctx_, WatchSignals(), asio::detached);
  }
  asio::co_spawn(ctx_, Ticker(), asio::detached);
  if (config_.mode == LoadMode::kUsers) {
    users_running_ = config_.users;
    for (int i = 0; i < config_.users; ++i) asio::co_spawn(ctx_, User(i), asio::detached);
    if (config_.users <= 0) arrivals_done_ = true;
  } else {
    asio::co_spawn(ctx_, ScheduleOpenLoop(), asio::detached);
  }
  ctx_.run();
  return Status::Ok();
}

}  // namespace tacc::tools
