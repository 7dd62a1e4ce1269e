// manager_fleet: the two load generators of the manager benchmark (bench/manager_capacity.sh),
// shaped like the paper's cluster (SNS §4.6): many workers, each reporting its load
// every report_ms on its own TCP connection, and front ends receiving the beacons.
//
//   manager_fleet fleet   --workers N [--report-ms 500] [--seconds S] [--class test] --set ...
//     Finds the manager from a beacon header, opens N connections and registers one fake
//     worker on each (ConnectAndRegister: the one place to change when registration
//     changes, e.g. a handshake), then sends one load report per worker every report_ms
//     (a sealed datagram, as real workers do, or a frame on its connection if the
//     manager gave no token) and a heartbeat per connection every wire.heartbeat_ms, the
//     workers' phases spread evenly over the period, for S seconds, with plain
//     non-blocking send() calls (so that one core can drive ~20,000 workers);
//     deregisters all and exits. Prints "key value" lines (connect time, reports sent).
//
//   manager_fleet receive --seconds S --trace FILE --set ...
//     A front end's share of the beacon work and nothing else: receives every beacon
//     datagram, judges it (MAC, freshness, replay) and assembles beacons exactly as a
//     front end's BeaconListener does (sns::BeaconReceiver), builds the front end's
//     DirectorySnapshot from each, and writes one trace line per whole beacon:
//       arrival_unix_s sent_unix_s seq tick extra workers parts bytes rx_cpu_s mgr_cpu_s load_reports
//     where sent is the manager's send stamp of the header, bytes the datagram bytes of
//     the beacon, rx_cpu_s this process's CPU time so far, mgr_cpu_s the manager's (from
//     /proc/<manager_pid>/stat). bench/manager_capacity.sh derives the figures from it.
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "sns/beacon_listener.h"
#include "sns/directory_snapshot.h"
#include "wire/datagram_seal.h"
#include "wire/datagram_socket.h"
#include "wire/frame.h"
#include "wire/handshake.h"

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string mode;
  std::vector<std::string> overrides;
  int workers = 1000;
  int report_ms = 500;
  double seconds = 20;
  std::string worker_class = "test";
  std::string trace_path;
  int parallel_connects = 64;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "manager_fleet: %s\n", what.c_str());
  std::exit(1);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  if (argc < 2) Die("usage: manager_fleet fleet|receive [options]");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--set")
      o.overrides.push_back(value());
    else if (a == "--workers")
      o.workers = std::stoi(value());
    else if (a == "--report-ms")
      o.report_ms = std::stoi(value());
    else if (a == "--seconds")
      o.seconds = std::stod(value());
    else if (a == "--class")
      o.worker_class = value();
    else if (a == "--trace")
      o.trace_path = value();
    else if (a == "--parallel-connects")
      o.parallel_connects = std::stoi(value());
    else
      Die("unknown argument " + a);
  }
  if (o.mode != "fleet" && o.mode != "receive") Die("mode must be fleet or receive");
  if (o.workers < 1 || o.workers > 1000000) Die("--workers must be within 1..1000000");
  return o;
}

void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

double UnixSeconds() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

// utime + stime of `pid` in seconds (-1 if unreadable).
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return -1;
  std::vector<std::string> fields;
  size_t pos = rp + 2;
  while (pos < line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string::npos) sp = line.size();
    fields.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  if (fields.size() < 13) return -1;
  return static_cast<double>(std::stoull(fields[11]) + std::stoull(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ---------------------------------------------------------------- fleet

// A registered fake worker: its connection, and the token its load datagrams carry (0:
// the manager takes its reports over the connection).
struct FakeWorker {
  tcp::socket sock;
  uint64_t token = 0;
  uint64_t seq = 0;
};

// Opens one connection to the manager and registers fake worker `i` on it, after
// proving the cluster key with the client handshake (the rest only sends load reports
// and heartbeats, as a real worker does).
asio::awaitable<tacc::Result<FakeWorker>> ConnectAndRegister(const tacc::wire::Endpoint& manager, const tacc::Config& config,
                                                              const tacc::ClusterKey& key, const std::string& cls, int i) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  tcp::endpoint to(asio::ip::make_address(manager.host(), ec), static_cast<uint16_t>(manager.port()));
  if (ec) co_return tacc::Status::InvalidArgument("manager address " + manager.host());
  tcp::socket sock(ex);
  auto [cec] = co_await sock.async_connect(to, kUseTuple);
  if (cec) co_return tacc::Status::Unavailable("connect: " + cec.message());
  tacc::wire::ClusterAuth auth{config.cluster.name, key};
  tacc::Status proven = co_await tacc::wire::ClientHandshake(sock, auth, std::chrono::milliseconds(config.wire.handshake_timeout_ms));
  if (!proven.ok()) co_return proven;
  tacc::wire::Envelope reg;
  reg.set_id(1);
  reg.set_deadline_ms(30000);
  auto* r = reg.mutable_register_worker();
  uint32_t port = static_cast<uint32_t>(1 + i % 65535);
  std::string host = fmt::format("127.{}.{}.1", (i / 65535) / 256 % 256, (i / 65535) % 256);
  r->set_id(fmt::format("{}@{}:{}", cls, host, port));
  r->set_worker_class(cls);
  r->mutable_address()->set_host(host);
  r->mutable_address()->set_port(port);
  r->set_pid(static_cast<uint32_t>(1000000 + i));  // not a real process: nobody may signal it
  r->set_host(host);
  std::string frame;
  tacc::wire::AppendFrame(reg, frame);
  auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(frame), kUseTuple);
  if (wec) co_return tacc::Status::Unavailable("register: " + wec.message());
  uint8_t header[tacc::wire::kFrameHeaderBytes];
  auto [hec, hn] = co_await asio::async_read(sock, asio::buffer(header), kUseTuple);
  if (hec) co_return tacc::Status::Unavailable("register reply: " + hec.message());
  auto len = tacc::wire::DecodeFrameHeader(header, config.wire.max_frame_bytes);
  if (!len.ok()) co_return len.status();
  std::string body(*len, '\0');
  auto [bec, bn] = co_await asio::async_read(sock, asio::buffer(body), kUseTuple);
  if (bec) co_return tacc::Status::Unavailable("register reply: " + bec.message());
  auto reply = tacc::wire::ParseEnvelope(body);
  if (!reply.ok()) co_return reply.status();
  if (!reply->has_register_ack()) co_return tacc::Status::Unavailable("registration refused: " + reply->error().message());
  co_return FakeWorker{std::move(sock), reply->register_ack().report_token()};
}

int RunFleet(const Options& opt, const tacc::Config& config, const tacc::ClusterKey& key) {
  asio::io_context ctx{1};
  // The manager's address, from a beacon header.
  std::optional<tacc::wire::Endpoint> manager;
  tacc::sns::BeaconListener::Options lo;
  lo.header_only = true;
  auto l = tacc::sns::BeaconListener::Open(
      ctx, config, key,
      [&](const tacc::wire::Beacon& b) {
        if (!manager) manager = b.manager();
      },
      lo);
  if (!l.ok()) Die(l.status().ToString());
  (*l)->Start();
  auto until = Clock::now() + std::chrono::seconds(20);
  while (!manager && Clock::now() < until) ctx.run_for(Millis(50));
  (*l)->Stop();
  if (!manager) Die("no beacon within 20 s");

  std::vector<std::optional<FakeWorker>> socks(static_cast<size_t>(opt.workers));
  int failed = 0, done = 0;
  auto connect_start = Clock::now();
  // A few registrations in flight at a time, like workers starting across a cluster.
  int next = 0;
  for (int lane = 0; lane < opt.parallel_connects; ++lane) {
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
          while (next < opt.workers) {
            int i = next++;
            auto c = co_await ConnectAndRegister(*manager, config, key, opt.worker_class, i);
            ++done;
            if (c.ok())
              socks[static_cast<size_t>(i)].emplace(std::move(*c));
            else if (++failed <= 5)
              std::fprintf(stderr, "manager_fleet: worker %d: %s\n", i, c.status().ToString().c_str());
          }
        },
        asio::detached);
  }
  // Load reports go as a real worker sends them: a sealed datagram to the manager's port
  // when it gave a token (all from one socket here: the manager goes by the token), else
  // a frame on the worker's connection.
  boost::system::error_code uec;
  asio::ip::udp::socket udp(ctx, asio::ip::udp::v4());
  udp.connect(asio::ip::udp::endpoint(asio::ip::make_address(manager->host()), static_cast<uint16_t>(manager->port())), uec);
  udp.non_blocking(true, uec);
  std::string frame;
  auto send_report = [&](FakeWorker& w, uint32_t q, uint64_t completed) -> bool {
    tacc::wire::LoadReport r;
    r.set_queue_length(q);
    r.set_weighted_load(q);
    r.set_completed(completed);
    if (w.token != 0) {
      tacc::wire::LoadAnnouncement a;
      a.set_token(w.token);
      a.set_seq(++w.seq);
      *a.mutable_report() = r;
      std::string d = tacc::wire::Seal(key, config.cluster.name, tacc::wire::DATAGRAM_LOAD_REPORT, a.SerializeAsString(), tacc::wire::NowUnixMs());
      return send(udp.native_handle(), d.data(), d.size(), MSG_DONTWAIT) == static_cast<ssize_t>(d.size());
    }
    tacc::wire::Envelope env;
    *env.mutable_load_report() = r;
    frame.clear();
    tacc::wire::AppendFrame(env, frame);
    return send(w.sock.native_handle(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
  };
  // Registered workers report while the rest register (or the manager would find the
  // first ones silent for manager.peer_timeout_ms).
  std::vector<Clock::time_point> last_report(socks.size(), Clock::now());
  auto report_due = [&] {
    auto now = Clock::now();
    for (size_t i = 0; i < socks.size(); ++i) {
      if (!socks[i] || now - last_report[i] < Millis(opt.report_ms)) continue;
      last_report[i] = now;
      send_report(*socks[i], 0, 0);
    }
  };
  ctx.restart();
  while (done < opt.workers) {
    ctx.run_for(Millis(100));
    report_due();
    if (Clock::now() - connect_start > std::chrono::minutes(5)) Die("registering took over 5 minutes");
  }
  double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
  std::fprintf(stderr, "manager_fleet: %d workers registered in %.1f s (%d failed)\n", opt.workers - failed, connect_s, failed);

  // From here on plain non-blocking system calls, so that the generator costs little
  // per report: one send() per report; whatever the manager sends is read and dropped.
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds;
  std::vector<FakeWorker*> live;
  for (auto& s : socks) {
    if (!s) continue;
    int fd = s->sock.native_handle();
    s->sock.non_blocking(true);
    live.push_back(&*s);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
  }
  uint64_t sent = 0, dropped = 0, closed = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  const double per_ms = static_cast<double>(fds.size()) / opt.report_ms;
  // A real worker's connection also sends a heartbeat when it has sent nothing for
  // wire.heartbeat_ms (its reports go by datagram): so do these, spread the same way.
  const double beats_per_ms = static_cast<double>(fds.size()) / config.wire.heartbeat_ms;
  uint64_t due_done = 0, beats_done = 0;
  std::string beat;
  {
    tacc::wire::Envelope hb;
    hb.mutable_heartbeat();
    tacc::wire::AppendFrame(hb, beat);
  }
  std::vector<char> sink(65536);
  std::vector<epoll_event> events(1024);
  while (Clock::now() < end && !fds.empty()) {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    auto due = static_cast<uint64_t>(ms * per_ms);
    for (; due_done < due; ++due_done) {
      size_t k = due_done % fds.size();
      if (fds[k] < 0) continue;
      auto q = static_cast<uint32_t>((due_done * 7919) % 5);
      if (send_report(*live[k], q, due_done / fds.size()))
        ++sent;
      else
        ++dropped;
    }
    for (auto beats_due = static_cast<uint64_t>(ms * beats_per_ms); beats_done < beats_due; ++beats_done) {
      int fd = fds[beats_done % fds.size()];
      if (fd >= 0 && live[beats_done % fds.size()]->token != 0) send(fd, beat.data(), beat.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 0);
    for (int k = 0; k < n; ++k) {
      ssize_t got = recv(events[k].data.fd, sink.data(), sink.size(), MSG_DONTWAIT);
      if (got == 0) {
        ++closed;
        epoll_ctl(ep, EPOLL_CTL_DEL, events[k].data.fd, nullptr);
        std::replace(fds.begin(), fds.end(), events[k].data.fd, -1);
      }
    }
    std::this_thread::sleep_for(Millis(2));
  }
  // Leaving on purpose: deregister, so the manager counts no crash.
  tacc::wire::Envelope bye;
  bye.mutable_deregister();
  frame.clear();
  tacc::wire::AppendFrame(bye, frame);
  for (int fd : fds)
    if (fd >= 0) send(fd, frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  std::this_thread::sleep_for(Millis(500));
  socks.clear();
  close(ep);
  std::printf(
      "workers %d\nregistered %d\nconnect_s %.2f\nreports_sent %llu\nreports_dropped %llu\nclosed_by_manager %llu\nreports_per_s %.0f\n",
      opt.workers, opt.workers - failed, connect_s, static_cast<unsigned long long>(sent), static_cast<unsigned long long>(dropped),
      static_cast<unsigned long long>(closed), static_cast<double>(sent) / opt.seconds);
  return failed == 0 && closed == 0 ? 0 : 1;
}

// ---------------------------------------------------------------- receive

int RunReceive(const Options& opt, const tacc::Config& config, const tacc::ClusterKey& key) {
  if (config.beacon.mode != "multicast") Die("receive: multicast mode only");
  asio::io_context ctx{1};
  auto sock = tacc::wire::OpenMulticastReceiver(ctx.get_executor(), config.beacon.group, config.beacon.port, config.beacon.interface);
  if (!sock.ok()) Die(sock.status().ToString());
  boost::system::error_code ec;
  sock->set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  tacc::sns::BeaconReceiver receiver(key, {config.cluster.name, config.beacon.freshness_ms, false});
  tacc::sns::SharedDirectory directory;  // what a front end's threads read
  std::ofstream trace(opt.trace_path);
  trace << "# arrival_unix_s sent_unix_s seq tick extra workers parts bytes rx_cpu_s mgr_cpu_s load_reports\n";
  uint64_t bytes_total = 0, refused = 0;
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  asio::co_spawn(
      ctx,
      [&]() -> asio::awaitable<void> {
        std::vector<char> buf(65536);
        uint64_t pending_bytes = 0;
        double header_sent = 0;
        while (Clock::now() < end) {
          tacc::wire::udp::endpoint from;
          auto [rec, n] = co_await sock->async_receive_from(asio::buffer(buf), from, kUseTuple);
          if (rec) continue;
          bytes_total += n;
          pending_bytes += n;
          std::string_view bytes(buf.data(), n);
          // The send stamp, for lateness (measurement only: a front end does not need it).
          tacc::wire::SealedDatagram sd;
          if (sd.ParseFromArray(buf.data(), static_cast<int>(n)) && sd.kind() == tacc::wire::DATAGRAM_BEACON_HEADER)
            header_sent = static_cast<double>(sd.sent_unix_ms()) / 1000.0;
          tacc::wire::Beacon b;
          auto v = receiver.OnDatagram(bytes, tacc::wire::NowUnixMs(), &b);
          if (v == tacc::sns::BeaconReceiver::Verdict::kBeacon) {
            double arrival = UnixSeconds();
            directory.Set(tacc::sns::DirectorySnapshot::FromBeacon(b));
            trace << fmt::format("{:.6f} {:.3f} {} {} {} {} {} {} {:.4f} {:.4f} {}\n", arrival, header_sent, b.seq(), b.tick(),
                                 b.extra() ? 1 : 0, b.workers_size(), b.parts(), pending_bytes, CpuSeconds(),
                                 ProcessCpuSeconds(static_cast<pid_t>(b.manager_pid())), b.load_reports());
            trace.flush();  // the script stops this process when the fleet is done
            pending_bytes = 0;
          } else if (v != tacc::sns::BeaconReceiver::Verdict::kPending) {
            ++refused;
          }
        }
        ctx.stop();
      },
      asio::detached);
  // Stop on time even if no datagram comes, or when the script says so.
  asio::signal_set signals(ctx, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { ctx.stop(); });
  asio::steady_timer stop(ctx);
  stop.expires_at(end + Millis(200));
  stop.async_wait([&](const boost::system::error_code&) { ctx.stop(); });
  ctx.run();
  trace.flush();
  std::printf("bytes %llu\nrefused %llu\nincomplete %llu\n", static_cast<unsigned long long>(bytes_total),
              static_cast<unsigned long long>(refused), static_cast<unsigned long long>(receiver.assembly().abandoned));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  RaiseFileLimit();
  auto config = tacc::Config::Load("", opt.overrides);
  if (!config.ok()) Die(config.status().ToString());
  auto key = tacc::ClusterKey::Load(config->KeyFile());
  if (!key.ok()) Die(key.status().ToString());
  return opt.mode == "fleet" ? RunFleet(opt, *config, *key) : RunReceive(opt, *config, *key);
}
