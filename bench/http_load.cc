// http_load: open-loop HTTP load generator for the load-balance benchmark
// (bench/load_balance.sh).
//
// Sends GET <path> to host:port with Poisson arrivals at --rate requests/s for
// --seconds, over keep-alive connections taken from a pool (a new one is opened when
// none is idle, up to --max-conns; beyond that arrivals wait in a client-side backlog,
// which is counted). Arrivals do not wait for answers, so the offered load is what was
// asked for whatever the cluster does. With several ports (--port P1,P2,..: several
// front ends), each request goes to one of them chosen uniformly at random, over that
// port's own pool.
//
// For every request it writes one line to --out:
//   start_s end_s http_status worker attempts
// with times in seconds since the first arrival and `worker` the X-Tacc-Worker header
// of the answer ("-" if none). Since the front end picks a worker within a fraction of
// a millisecond of receiving a request, the number of requests in flight per worker at
// time t is that worker's queue (queued + running) at t, to within that fraction —
// which load_balance.sh samples at any rate it likes.
//
// With --beacons FILE (and the cluster's --set cluster.name=.. --set beacon.port=..),
// it also records every beacon it hears: "t_s seq worker_id load" per worker, the
// smoothed loads the manager stubs balance on.
//
// Usage: http_load --host 127.0.0.1 --port P[,P2..] --path /task/test --rate 150 --seconds 30
//                  --out FILE [--max-conns 256] [--seed 1] [--beacons FILE --set k=v ...]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/config.h"
#include "sns/beacon_listener.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  std::vector<int> ports;
  std::string path = "/task/test";
  double rate = 100;
  double seconds = 10;
  int max_conns = 256;
  uint64_t seed = 1;
  std::string out_path, beacons_path;
  std::vector<std::string> overrides;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "http_load: %s\n", what.c_str());
  std::exit(1);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--host") o.host = value();
    else if (a == "--port") {
      std::string v = value();
      for (size_t at = 0; at <= v.size();) {
        size_t comma = std::min(v.find(',', at), v.size());
        o.ports.push_back(std::stoi(v.substr(at, comma - at)));
        at = comma + 1;
      }
    }
    else if (a == "--path") o.path = value();
    else if (a == "--rate") o.rate = std::stod(value());
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--max-conns") o.max_conns = std::stoi(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--out") o.out_path = value();
    else if (a == "--beacons") o.beacons_path = value();
    else if (a == "--set") o.overrides.push_back(value());
    else Die("unknown argument " + a);
  }
  if (o.ports.empty() || std::ranges::any_of(o.ports, [](int p) { return p <= 0; }) || o.out_path.empty() || o.rate <= 0) Die("need --port, --out and a positive --rate");
  return o;
}

struct Record {
  double start = 0, end = 0;
  int status = 0;
  std::string worker;
  int attempts = 0;
};

struct Conn {
  explicit Conn(asio::any_io_executor ex) : socket(ex) {}
  tcp::socket socket;
  beast::flat_buffer buffer;
};

class Generator {
 public:
  Generator(asio::io_context& ctx, const Options& o)
      : ctx_(ctx), opt_(o), rng_(o.seed), port_rng_(o.seed + 1), start_(Clock::now()), idle_(o.ports.size()) {
    for (int p : o.ports) endpoints_.emplace_back(asio::ip::make_address(o.host), static_cast<uint16_t>(p));
  }

  asio::awaitable<void> Run() {
    auto end = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt_.seconds));
    std::exponential_distribution<double> gap(opt_.rate);
    asio::steady_timer timer(ctx_);
    auto next = start_;
    while (next < end) {
      timer.expires_at(next);
      co_await timer.async_wait(kUseTuple);
      size_t i = records_.size();
      records_.push_back(Record{Since(next), 0, 0, "-", 0});
      asio::co_spawn(ctx_, Request(i), asio::detached);
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng_)));
    }
    // Let the requests in flight finish (bounded).
    auto until = Clock::now() + std::chrono::seconds(10);
    while (done_ < records_.size() && Clock::now() < until) {
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(kUseTuple);
    }
    ctx_.stop();
  }

  const std::vector<Record>& records() const { return records_; }
  size_t backlogged() const { return backlogged_; }
  size_t connections() const { return opened_; }
  double Since(Clock::time_point t) const { return std::chrono::duration<double>(t - start_).count(); }
  Clock::time_point start() const { return start_; }

 private:
  asio::awaitable<std::unique_ptr<Conn>> TakeConn(size_t port) {
    auto& idle = idle_[port];
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      co_return c;
    }
    if (static_cast<int>(opened_) >= opt_.max_conns) {
      ++backlogged_;
      // Wait for an idle connection to this port, or for room to open one (the
      // connections in use may all be to other ports).
      asio::steady_timer t(ctx_);
      while (idle.empty() && static_cast<int>(opened_) >= opt_.max_conns) {
        t.expires_after(std::chrono::microseconds(200));
        co_await t.async_wait(kUseTuple);
      }
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        co_return c;
      }
    }
    auto c = std::make_unique<Conn>(ctx_.get_executor());
    auto [ec] = co_await c->socket.async_connect(endpoints_[port], kUseTuple);
    if (ec) co_return nullptr;
    c->socket.set_option(tcp::no_delay(true));
    ++opened_;
    co_return c;
  }

  asio::awaitable<void> Request(size_t i) {
    // A separate generator, so that the arrival times do not depend on the port count.
    size_t port = std::uniform_int_distribution<size_t>(0, endpoints_.size() - 1)(port_rng_);
    auto conn = co_await TakeConn(port);
    if (conn) {
      bhttp::request<bhttp::empty_body> req{bhttp::verb::get, opt_.path, 11};
      req.set(bhttp::field::host, opt_.host);
      req.keep_alive(true);
      auto [wec, wn] = co_await bhttp::async_write(conn->socket, req, kUseTuple);
      bhttp::response<bhttp::string_body> res;
      boost::system::error_code rec;
      if (!wec) std::tie(rec, std::ignore) = co_await bhttp::async_read(conn->socket, conn->buffer, res, kUseTuple);
      Record& r = records_[i];
      r.end = Since(Clock::now());
      if (!wec && !rec) {
        r.status = static_cast<int>(res.result_int());
        if (auto w = res.find("X-Tacc-Worker"); w != res.end()) r.worker = std::string(w->value());
        if (auto a = res.find("X-Tacc-Attempts"); a != res.end()) r.attempts = std::atoi(std::string(a->value()).c_str());
        if (res.keep_alive()) idle_[port].push_back(std::move(conn));
        else --opened_;
      } else {
        --opened_;
      }
    } else {
      records_[i].end = Since(Clock::now());
    }
    ++done_;
  }

  asio::io_context& ctx_;
  const Options& opt_;
  std::mt19937_64 rng_, port_rng_;
  std::vector<tcp::endpoint> endpoints_;
  Clock::time_point start_;
  std::vector<Record> records_;
  std::vector<std::vector<std::unique_ptr<Conn>>> idle_;  // per port
  size_t opened_ = 0, done_ = 0, backlogged_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  asio::io_context ctx{1};
  Generator gen(ctx, opt);

  std::ofstream beacons;
  std::unique_ptr<tacc::sns::BeaconListener> listener;
  tacc::Config config;
  if (!opt.beacons_path.empty()) {
    auto c = tacc::Config::Load("", opt.overrides);
    if (!c.ok()) Die(c.status().ToString());
    config = *c;
    beacons.open(opt.beacons_path);
    beacons << "# t_s seq worker load\n";
    auto key = tacc::ClusterKey::Load(config.KeyFile());  // beacons are signed with it
    if (!key.ok()) Die(key.status().ToString());
    auto l = tacc::sns::BeaconListener::Open(ctx, config, *key, [&](const tacc::wire::Beacon& b) {
      double t = gen.Since(Clock::now());
      for (auto& w : b.workers()) beacons << fmt::format("{:.4f} {} {} {:.4f}\n", t, b.seq(), w.id(), w.load());
    });
    if (!l.ok()) Die(l.status().ToString());
    listener = std::move(*l);
    listener->Start();
  }

  asio::co_spawn(ctx, gen.Run(), asio::detached);
  ctx.run();
  if (listener) listener->Stop();

  std::ofstream out(opt.out_path);
  out << "# start_s end_s status worker attempts\n";
  size_t ok = 0, unfinished = 0;
  for (auto& r : gen.records()) {
    if (r.end == 0) ++unfinished;
    if (r.status == 200) ++ok;
    out << fmt::format("{:.6f} {:.6f} {} {} {}\n", r.start, r.end, r.status, r.worker, r.attempts);
  }
  std::printf("requests %zu\nok %zu\nunfinished %zu\nconnections %zu\nbacklogged %zu\n", gen.records().size(), ok, unfinished,
              gen.connections(), gen.backlogged());
  return 0;
}
