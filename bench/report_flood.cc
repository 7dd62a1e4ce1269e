// report_flood: load generator for the manager-capacity benchmark (bench/manager_capacity.sh).
//
// Finds the manager through its beacons, opens --connections TCP connections to it,
// registers one fake worker of class --class on each (address 127.0.0.1:<1..N>), then
// writes LoadReport frames on all of them as fast as the manager reads them for
// --seconds. Meanwhile it records every beacon with its kernel receive timestamp
// (SO_TIMESTAMPNS, so the generator's own scheduling does not blur the gaps) and
// derives:
//   - load reports absorbed per second: slope of Beacon.load_reports over the window,
//     and over its part after --warmup seconds (the steady state: the first seconds are
//     slower while the kernel grows the connections' receive buffers);
//   - beacon punctuality: intervals between consecutive beacons (mean, p99, max) against
//     Beacon.interval_ms, and beacons missing by sequence number.
// At the end each fake worker sends Deregister (so the manager does not count crashes
// and schedule restarts) and the connections close.
//
// Output: "key value" lines on stdout (machine-readable, parsed by the script); with
// --beacons FILE, one line per beacon "t_s seq load_reports workers".
//
// Usage: report_flood --set cluster.name=X --set beacon.port=P [--connections N]
//                     [--seconds S] [--warmup S] [--class test] [--beacons FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "wire/cluster.pb.h"
#include "wire/datagram_socket.h"
#include "wire/frame.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> overrides;
  int connections = 100;
  double seconds = 10;
  double warmup = 3;  // excluded from the steady-state rate
  std::string worker_class = "test";
  std::string beacons_path;
};

struct BeaconSample {
  double t = 0;  // seconds, CLOCK_REALTIME kernel receive timestamp
  uint64_t epoch = 0, seq = 0, load_reports = 0;
  uint32_t interval_ms = 0;
  int workers = 0;
  std::string manager_host;
  uint32_t manager_port = 0;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "report_flood: %s\n", what.c_str());
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
    if (a == "--set") o.overrides.push_back(value());
    else if (a == "--connections") o.connections = std::stoi(value());
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--warmup") o.warmup = std::stod(value());
    else if (a == "--class") o.worker_class = value();
    else if (a == "--beacons") o.beacons_path = value();
    else Die("unknown argument " + a);
  }
  if (o.connections < 1 || o.connections > 60000) Die("--connections must be within 1..60000");
  return o;
}

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Receives beacons on its own thread with kernel timestamps until stopped.
class BeaconRecorder {
 public:
  BeaconRecorder(int fd, std::string cluster) : fd_(fd), cluster_(std::move(cluster)) {
    int on = 1;
    if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) Die("SO_TIMESTAMPNS: " + std::string(strerror(errno)));
    thread_ = std::thread([this] { Run(); });
  }
  ~BeaconRecorder() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  std::vector<BeaconSample> Samples() {
    std::lock_guard lock(mu_);
    return samples_;
  }

  // Waits up to `timeout` for a beacon newer than `after_count` samples.
  std::optional<BeaconSample> WaitNext(size_t after_count, std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      {
        std::lock_guard lock(mu_);
        if (samples_.size() > after_count) return samples_.back();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  size_t Count() {
    std::lock_guard lock(mu_);
    return samples_.size();
  }

 private:
  void Run() {
    std::vector<char> buf(tacc::wire::kMaxDatagramBytes);
    alignas(cmsghdr) char control[256];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      iovec iov{buf.data(), buf.size()};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      ssize_t n = recvmsg(fd_, &msg, MSG_DONTWAIT);
      if (n <= 0) continue;
      double t = WallSeconds();
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          t = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
        }
      tacc::wire::Datagram dg;
      if (!dg.ParseFromArray(buf.data(), static_cast<int>(n)) || !dg.has_beacon() || dg.beacon().cluster() != cluster_) continue;
      const auto& b = dg.beacon();
      BeaconSample s{t, b.epoch(), b.seq(), b.load_reports(), b.interval_ms(), b.workers_size(), b.manager().host(), b.manager().port()};
      std::lock_guard lock(mu_);
      samples_.push_back(std::move(s));
    }
  }

  int fd_;
  std::string cluster_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<BeaconSample> samples_;
  std::thread thread_;
};

int ConnectTcp(const std::string& host, uint32_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket: " + std::string(strerror(errno)));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) Die("bad manager host " + host);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("connect to manager: " + std::string(strerror(errno)));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void WriteAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("write: " + std::string(strerror(errno)));
    off += static_cast<size_t>(n);
  }
}

void ReadExact(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) Die("manager closed the connection during registration");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

// Registers fake worker `i` on `fd` and waits for its RegisterAck.
void Register(int fd, int i, const std::string& cls) {
  tacc::wire::Envelope env;
  env.set_id(1);
  env.set_deadline_ms(5000);
  auto* r = env.mutable_register_worker();
  r->set_id(cls + "@127.0.0.1:" + std::to_string(i));
  r->set_worker_class(cls);
  r->mutable_address()->set_host("127.0.0.1");
  r->mutable_address()->set_port(static_cast<uint32_t>(i));
  r->set_pid(0);  // no process: the manager must never signal it
  r->set_host("127.0.0.1");
  std::string frame;
  tacc::wire::AppendFrame(env, frame);
  WriteAll(fd, frame);
  // Skip anything that is not the reply (the manager sends nothing else unasked).
  for (;;) {
    uint8_t h[tacc::wire::kFrameHeaderBytes];
    ReadExact(fd, reinterpret_cast<char*>(h), sizeof h);
    auto len = tacc::wire::DecodeFrameHeader(h, 1 << 20);
    if (!len.ok()) Die(len.status().ToString());
    std::string body(*len, '\0');
    ReadExact(fd, body.data(), body.size());
    auto reply = tacc::wire::ParseEnvelope(body);
    if (!reply.ok()) Die(reply.status().ToString());
    if (!reply->is_reply()) continue;
    if (reply->has_error()) Die("registration refused: " + reply->error().message());
    if (!reply->has_register_ack()) Die("unexpected reply to registration");
    return;
  }
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(std::min<double>(static_cast<double>(v.size() - 1), p / 100.0 * static_cast<double>(v.size() - 1) + 0.5));
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  auto config = tacc::Config::Load("", opt.overrides);
  if (!config.ok()) Die(config.status().ToString());

  boost::asio::io_context ctx;
  auto sock = tacc::wire::OpenMulticastReceiver(ctx.get_executor(), config->beacon.group, config->beacon.port, config->beacon.interface);
  if (!sock.ok()) Die(sock.status().ToString());
  BeaconRecorder beacons(sock->native_handle(), config->cluster.name);

  auto first = beacons.WaitNext(0, std::chrono::milliseconds(10000));
  if (!first) Die("no beacon of cluster '" + config->cluster.name + "' within 10 s");
  std::fprintf(stderr, "report_flood: manager at %s:%u, registering %d fake workers\n", first->manager_host.c_str(), first->manager_port,
               opt.connections);

  std::vector<int> fds;
  for (int i = 1; i <= opt.connections; ++i) {
    int fd = ConnectTcp(first->manager_host, first->manager_port);
    Register(fd, i, opt.worker_class);
    fds.push_back(fd);
  }

  // One LoadReport frame, repeated to fill a 64 KiB buffer; a connection's write offset
  // wraps at the buffer end, which is a frame boundary, so frames are never cut.
  tacc::wire::Envelope report;
  auto* lr = report.mutable_load_report();
  lr->set_queue_length(1);  // busy, so the manager never finds it idle
  lr->set_weighted_load(1.0);
  lr->set_completed(1);
  std::string frame;
  tacc::wire::AppendFrame(report, frame);
  std::string ring;
  while (ring.size() + frame.size() <= 64 * 1024) ring += frame;

  int ep = epoll_create1(0);
  std::vector<size_t> offset(fds.size(), 0);
  std::vector<uint64_t> bytes(fds.size(), 0);
  for (size_t i = 0; i < fds.size(); ++i) {
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }

  // Let the registration beacons pass, then start on a fresh beacon.
  size_t before = beacons.Count();
  auto start_beacon = beacons.WaitNext(before, std::chrono::milliseconds(5000));
  if (!start_beacon) Die("beacons stopped");
  double t_start = WallSeconds();
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.seconds));
  std::vector<epoll_event> events(fds.size());
  while (Clock::now() < until) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    for (int k = 0; k < n; ++k) {
      size_t i = events[static_cast<size_t>(k)].data.u64;
      ssize_t w = write(fds[i], ring.data() + offset[i], ring.size() - offset[i]);
      if (w < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        Die("write to manager: " + std::string(strerror(errno)));
      }
      bytes[i] += static_cast<uint64_t>(w);
      offset[i] = (offset[i] + static_cast<size_t>(w)) % ring.size();
    }
  }
  double t_end = WallSeconds();
  // One more beacon after the end so the last stretch is measured too.
  beacons.WaitNext(beacons.Count(), std::chrono::milliseconds(2000));
  beacons.Stop();

  // Finish every partial frame, then say goodbye so no crash (and restart) is recorded.
  tacc::wire::Envelope bye;
  bye.mutable_deregister();
  std::string bye_frame;
  tacc::wire::AppendFrame(bye, bye_frame);
  uint64_t sent_reports = 0;
  for (size_t i = 0; i < fds.size(); ++i) {
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
    // A write may have stopped inside a frame: complete it.
    size_t partial = offset[i] % frame.size();
    if (partial) WriteAll(fds[i], frame.substr(partial));
    bytes[i] += partial ? frame.size() - partial : 0;
    sent_reports += bytes[i] / frame.size();
    WriteAll(fds[i], bye_frame);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int fd : fds) close(fd);
  close(ep);

  // Beacons in the flood window (plus the one just after it) of the manager we flooded.
  auto all = beacons.Samples();
  std::vector<BeaconSample> win;
  for (auto& s : all)
    if (s.epoch == start_beacon->epoch && s.seq >= start_beacon->seq && s.t <= t_end + 2.0) win.push_back(s);
  if (win.size() < 3) Die("too few beacons in the window");
  // Only the beacons up to the first one after the flood ended.
  size_t last = 0;
  while (last + 1 < win.size() && win[last].t < t_end) ++last;
  win.resize(last + 1);

  std::vector<double> gaps_ms;
  uint64_t missing = 0;
  for (size_t i = 1; i < win.size(); ++i) {
    gaps_ms.push_back((win[i].t - win[i - 1].t) * 1000);
    if (win[i].seq > win[i - 1].seq + 1) missing += win[i].seq - win[i - 1].seq - 1;
  }
  double span = win.back().t - win.front().t;
  double absorbed = static_cast<double>(win.back().load_reports - win.front().load_reports);
  const BeaconSample* steady = nullptr;
  for (auto& s : win)
    if (s.t >= t_start + opt.warmup) {
      steady = &s;
      break;
    }
  double steady_rate = 0;
  if (steady && win.back().t - steady->t > 0.9)
    steady_rate = static_cast<double>(win.back().load_reports - steady->load_reports) / (win.back().t - steady->t);
  double mean_gap = 0;
  for (double g : gaps_ms) mean_gap += g;
  mean_gap /= static_cast<double>(gaps_ms.size());

  std::printf("connections %d\n", opt.connections);
  std::printf("seconds %.3f\n", t_end - t_start);
  std::printf("reports_written %llu\n", static_cast<unsigned long long>(sent_reports));  // accepted by the kernel, mostly still buffered at the end
  std::printf("reports_absorbed %.0f\n", absorbed);
  std::printf("beacon_span_s %.3f\n", span);
  std::printf("reports_per_s %.0f\n", absorbed / span);
  std::printf("steady_reports_per_s %.0f\n", steady_rate);
  std::printf("warmup_s %.1f\n", opt.warmup);
  std::printf("frame_bytes %zu\n", frame.size());
  std::printf("beacon_interval_ms %u\n", win.front().interval_ms);
  std::printf("beacons %zu\n", win.size());
  std::printf("beacons_missing %llu\n", static_cast<unsigned long long>(missing));
  std::printf("beacon_workers %d\n", win.back().workers);
  std::printf("gap_mean_ms %.2f\n", mean_gap);
  std::printf("gap_p50_ms %.2f\n", Percentile(gaps_ms, 50));
  std::printf("gap_p99_ms %.2f\n", Percentile(gaps_ms, 99));
  std::printf("gap_max_ms %.2f\n", *std::max_element(gaps_ms.begin(), gaps_ms.end()));
  std::printf("gap_min_ms %.2f\n", *std::min_element(gaps_ms.begin(), gaps_ms.end()));

  if (!opt.beacons_path.empty()) {
    std::ofstream out(opt.beacons_path);
    out << "# t_s seq load_reports workers\n";
    for (auto& s : win) out << fmt::format("{:.6f} {} {} {}\n", s.t - win.front().t, s.seq, s.load_reports, s.workers);
  }
  return 0;
}
