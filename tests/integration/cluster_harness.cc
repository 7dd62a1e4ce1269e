#include "cluster_harness.h"

#include <poll.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/lifeline.h"
#include "common/process.h"
#include "sns/beacon_listener.h"

namespace tacc::testing {

// How long front ends wait for a silent manager. Under ASan/UBSan a restarted manager
// takes seconds to come up when the tests run two at a time, and a second front end
// would restart it again: the sanitized build waits longer.
#ifdef TACC_SANITIZED
constexpr int kManagerTimeoutMs = 3000;
#else
constexpr int kManagerTimeoutMs = 1000;
#endif

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;

namespace {

void SetTimeouts(tcp::socket& s, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Waits until `s` is readable or `until` passes (SO_RCVTIMEO alone does not bound
// Asio's blocking reads: on EAGAIN they poll again without a limit).
bool ReadableBefore(tcp::socket& s, Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{s.native_handle(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

bool Connect(tcp::socket& s, const std::string& host, int port, std::string* err) {
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address(host), static_cast<uint16_t>(port)), ec);
  if (ec && err) *err = "connect: " + ec.message();
  return !ec;
}

HttpReply Exchange(tcp::socket& s, beast::flat_buffer& buf, const std::string& method, const std::string& target, const std::string& body,
                   bool keep_alive, const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  HttpReply r;
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "localhost");
  for (const auto& [name, value] : headers) req.set(name, value);
  req.keep_alive(keep_alive);
  req.body() = body;
  req.prepare_payload();
  boost::system::error_code ec;
  bhttp::write(s, req, ec);
  if (ec) {
    r.error = "write: " + ec.message();
    return r;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1 << 30);
  bhttp::read(s, buf, parser, ec);
  if (ec) {
    r.error = "read: " + ec.message();
    return r;
  }
  auto res = parser.release();
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  for (auto& f : res) {  // by lower-case name: field names are case-insensitive
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  return r;
}

std::atomic<int> g_counter{0};

}  // namespace

HttpReply HttpRequest(const std::string& host, int port, const std::string& method, const std::string& target, const std::string& body,
                      std::chrono::milliseconds timeout) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  HttpReply r;
  if (!Connect(s, host, port, &r.error)) return r;
  SetTimeouts(s, timeout);
  beast::flat_buffer buf;
  return Exchange(s, buf, method, target, body, false);
}

HttpReply HttpRequest(const std::string& host, int port, const std::string& method, const std::string& target, const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers, std::chrono::milliseconds timeout) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  HttpReply r;
  if (!Connect(s, host, port, &r.error)) return r;
  SetTimeouts(s, timeout);
  beast::flat_buffer buf;
  return Exchange(s, buf, method, target, body, false, headers);
}

std::string RawExchange(const std::string& host, int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context ctx;
  tcp::socket s(ctx);
  if (!Connect(s, host, port, nullptr)) return "";
  SetTimeouts(s, timeout);
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  auto until = Clock::now() + timeout;
  while (ReadableBefore(s, until)) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

RawOutcome RawExchangeUntilClosed(const std::string& host, int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  RawOutcome r;
  asio::io_context ctx;
  tcp::socket s(ctx);
  if (!Connect(s, host, port, nullptr)) return r;
  SetTimeouts(s, timeout);
  boost::system::error_code ec;
  asio::write(s, asio::buffer(bytes), ec);
  char buf[4096];
  auto until = Clock::now() + timeout;
  while (ReadableBefore(s, until)) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) {
      r.closed_by_peer = ec == asio::error::eof || ec == asio::error::connection_reset;
      break;
    }
    r.reply.append(buf, n);
  }
  return r;
}

CommandResult RunTacc(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  CommandResult r;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return r;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    std::vector<std::string> all = {TACC_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(TACC_BINARY, argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  auto until = Clock::now() + timeout;
  int status = 0;
  bool done = false;
  char buf[4096];
  while (Clock::now() < until) {
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
    if (waitpid(pid, &status, WNOHANG) == pid) {
      done = true;
      while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
      break;
    }
    usleep(10000);
  }
  close(pipefd[0]);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    r.output += "\n[timed out]";
    return r;
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

bool ProcessAlive(pid_t pid) { return tacc::ProcessAlive(pid); }

// ---------------------------------------------------------------- ClusterHarness

struct ClusterHarness::Shared {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<Clock::time_point, wire::Beacon>> history;
  std::set<pid_t> pids_seen;
  asio::io_context ctx{1};
};

ClusterHarness::ClusterHarness(Options options) : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  int n = g_counter++;
  name_ = "it" + std::to_string(getpid()) + "x" + std::to_string(n);
  run_dir_ = "/tmp/tacc-" + name_;
  beacon_port_ = 20000 + static_cast<int>((getpid() * 31 + n * 7) % 25000);
  log_path_ = run_dir_ + "/cluster.log";
  std::filesystem::create_directories(run_dir_);
  std::vector<std::string> sets = {"cluster.name=" + name_,
                                   "cluster.run_dir=" + run_dir_,
                                   "beacon.port=" + std::to_string(beacon_port_),
                                   "beacon.interval_ms=200",
                                   "frontend.port=0",
                                   "frontend.admin_port=0",
                                   "frontend.threads=1",
                                   "frontend.service=test",         // tests that want TranSend say so
                                   "classes.cache.min_workers=0",  // and its cache partition
                                   "classes.jpeg.min_workers=0",   // and its distillers
                                   "classes.png.min_workers=0",
                                   "classes.gif.min_workers=0",
                                   "classes.html_munger.min_workers=0",     // and its HTML workers
                                   "classes.keyword_filter.min_workers=0",
                                   "frontend.count=" + std::to_string(options_.frontends),
                                   "frontend.manager_timeout_ms=" + std::to_string(kManagerTimeoutMs),
                                   "manager.adopt_grace_ms=600",
                                   "log.level=info"};
  sets.insert(sets.end(), options_.settings.begin(), options_.settings.end());
  if (!options_.config_file.empty()) {
    config_args_.push_back("--config");
    config_args_.push_back(options_.config_file);
  }
  for (auto& s : sets) {
    config_args_.push_back("--set");
    config_args_.push_back(s);
  }
}

ClusterHarness::~ClusterHarness() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(run_dir_, ec);
}

void ClusterHarness::Start(std::chrono::milliseconds timeout) {
  static bool lifeline = [] { return CreateLifeline().ok(); }();
  (void)lifeline;
  std::vector<std::string> sets;
  for (size_t i = 0; i + 1 < config_args_.size(); i += 2)
    if (config_args_[i] == "--set") sets.push_back(config_args_[i + 1]);
  auto config = Config::Load(options_.config_file, sets);
  if (!config.ok()) throw std::runtime_error("bad test config: " + config.status().ToString());

  auto cfg = std::make_shared<Config>(*config);
  auto shared = shared_;

  std::vector<std::string> up = {"up"};
  up.insert(up.end(), options_.up_flags.begin(), options_.up_flags.end());
  up_pid_ = SpawnTacc(up);
  // Beacons are signed with the key `tacc up` makes in the run directory.
  auto key_deadline = Clock::now() + timeout;
  for (;;) {
    auto k = ClusterKey::Load(cfg->KeyFile());
    if (k.ok()) {
      key_.emplace(*k);
      break;
    }
    if (Clock::now() > key_deadline) throw std::runtime_error("tacc up made no cluster key (" + k.status().ToString() + "); log:\n" + Log());
    usleep(10000);
  }
  auto key = *key_;
  listener_ = std::thread([shared, cfg, key] {
    auto l = sns::BeaconListener::Open(shared->ctx, *cfg, key, [shared](const wire::Beacon& b) {
      std::lock_guard lock(shared->mu);
      shared->history.emplace_back(Clock::now(), b);
      shared->pids_seen.insert(static_cast<pid_t>(b.manager_pid()));
      for (auto& f : b.frontends()) shared->pids_seen.insert(static_cast<pid_t>(f.pid()));
      for (auto& w : b.workers()) shared->pids_seen.insert(static_cast<pid_t>(w.pid()));
      shared->cv.notify_all();
    });
    if (!l.ok()) return;
    (*l)->Start();
    auto guard = asio::make_work_guard(shared->ctx);
    shared->ctx.run();
    (*l)->Stop();
  });

  int want = options_.frontends;
  if (!WaitFor([want](const wire::Beacon& b) { return b.frontends_size() >= want; }, timeout))
    throw std::runtime_error("cluster did not come up in time; log:\n" + Log());
}

pid_t ClusterHarness::SpawnTacc(const std::vector<std::string>& args, const std::vector<std::string>& extra_settings) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // signals aimed at the cluster never hit the test
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<std::string> all = {TACC_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), config_args_.begin(), config_args_.end());
    for (auto& s : extra_settings) {
      all.push_back("--set");
      all.push_back(s);
    }
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(TACC_BINARY, argv.data());
    _exit(127);
  }
  if (args.empty() || args[0] != "up") extra_pids_.push_back(pid);
  return pid;
}

bool ClusterHarness::Stop(std::string* leftover) {
  for (pid_t p : extra_pids_) {
    kill(p, SIGKILL);
    waitpid(p, nullptr, 0);
  }
  extra_pids_.clear();
  if (up_pid_ <= 0) return true;
  kill(up_pid_, SIGTERM);
  auto until = Clock::now() + 20s;
  int status;
  bool exited = false;
  while (Clock::now() < until) {
    if (waitpid(up_pid_, &status, WNOHANG) == up_pid_) {
      exited = true;
      break;
    }
    usleep(20000);
  }
  if (!exited) {
    kill(up_pid_, SIGKILL);
    waitpid(up_pid_, &status, 0);
  }
  up_pid_ = -1;
  std::set<pid_t> pids;
  {
    std::lock_guard lock(shared_->mu);
    pids = shared_->pids_seen;
  }
  std::string left;
  auto until2 = Clock::now() + 5s;
  for (pid_t p : pids) {
    if (p <= 0) continue;
    while (ProcessAlive(p) && Clock::now() < until2) usleep(20000);
    if (ProcessAlive(p)) {
      left += " " + std::to_string(p);
      kill(p, SIGKILL);
    }
  }
  shared_->ctx.stop();
  if (listener_.joinable()) listener_.join();
  if (!exited) left += " (tacc up itself did not stop)";
  // Under the sanitizer build every process of the cluster reports into the log.
  std::string log = Log();
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
    if (auto at = log.find(marker); at != std::string::npos) left += "\nsanitizer report in the cluster log:\n" + log.substr(at > 200 ? at - 200 : 0, 3000);
  if (leftover) *leftover = left;
  return left.empty();
}

std::optional<wire::Beacon> ClusterHarness::Latest() const {
  std::lock_guard lock(shared_->mu);
  if (shared_->history.empty()) return std::nullopt;
  return shared_->history.back().second;
}

std::vector<std::pair<Clock::time_point, wire::Beacon>> ClusterHarness::History() const {
  std::lock_guard lock(shared_->mu);
  return shared_->history;
}

std::optional<wire::Beacon> ClusterHarness::WaitFor(const std::function<bool(const wire::Beacon&)>& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mu);
  size_t checked = 0;
  auto until = Clock::now() + timeout;
  for (;;) {
    for (; checked < shared_->history.size(); ++checked)
      if (pred(shared_->history[checked].second)) return shared_->history[checked].second;
    if (shared_->cv.wait_until(lock, until) == std::cv_status::timeout && checked == shared_->history.size()) return std::nullopt;
  }
}

int ClusterHarness::FrontendPort(int index) const {
  auto b = Latest();
  if (!b) return 0;
  for (auto& f : b->frontends())
    if (static_cast<int>(f.index()) == index) return static_cast<int>(f.http().port());
  return 0;
}

int ClusterHarness::AdminPort(int index) const {
  auto b = Latest();
  if (!b) return 0;
  for (auto& f : b->frontends())
    if (static_cast<int>(f.index()) == index) return static_cast<int>(f.admin().port());
  return 0;
}

HttpReply ClusterHarness::Get(const std::string& target, int frontend, std::chrono::milliseconds timeout) const {
  return HttpRequest("127.0.0.1", FrontendPort(frontend), "GET", target, "", timeout);
}

HttpReply ClusterHarness::GetAdmin(const std::string& target, int frontend, std::chrono::milliseconds timeout) const {
  return HttpRequest("127.0.0.1", AdminPort(frontend), "GET", target, "", timeout);
}

std::string ClusterHarness::Log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int ClusterHarness::CountWorkers(const wire::Beacon& b, const std::string& cls) {
  int n = 0;
  for (auto& w : b.workers())
    if (w.worker_class() == cls) ++n;
  return n;
}

bool ClusterHarness::WaitForWorkers(const std::vector<std::string>& classes, std::chrono::milliseconds timeout) {
  return WaitFor(
             [&](const wire::Beacon& b) {
               for (const auto& cls : classes)
                 if (CountWorkers(b, cls) < 1) return false;
               return true;
             },
             timeout)
      .has_value();
}

int64_t ClusterHarness::Metric(const std::string& name, int frontend) const {
  auto m = GetAdmin("/_tacc/metrics", frontend);
  if (m.status != 200) return -1;
  size_t p = m.body.find("\n" + name + " ");
  return p == std::string::npos ? 0 : std::stoll(m.body.substr(p + name.size() + 2));
}

// ---------------------------------------------------------------- LoadGenerator

LoadGenerator::LoadGenerator(std::string host, int port, std::string target, int clients)
    : host_(std::move(host)), port_(port), target_(std::move(target)) {
  for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { ClientLoop(); });
}

LoadGenerator::~LoadGenerator() { Stop(); }

void LoadGenerator::Stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

LoadGenerator::Counts LoadGenerator::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

void LoadGenerator::ClientLoop() {
  asio::io_context ctx;
  std::optional<tcp::socket> s;
  beast::flat_buffer buf;
  while (!stop_) {
    if (!s) {
      s.emplace(ctx);
      std::string err;
      if (!Connect(*s, host_, port_, &err)) {
        std::lock_guard lock(mu_);
        ++counts_.failed;
        if (counts_.failures.size() < 10) counts_.failures.push_back(err);
        s.reset();
        usleep(50000);
        continue;
      }
      SetTimeouts(*s, 15s);
      buf.clear();
    }
    HttpReply r = Exchange(*s, buf, "GET", target_, "", true);
    std::lock_guard lock(mu_);
    if (r.status == 200 && r.Header("X-Tacc-Fallback").empty()) {
      ++counts_.ok;
      if (r.Header("X-Tacc-Attempts") != "" && r.Header("X-Tacc-Attempts") != "1") ++counts_.retried;
    }
    else if (r.status == 200) ++counts_.fallback;
    else {
      ++counts_.failed;
      if (counts_.failures.size() < 10) counts_.failures.push_back(r.status ? "status " + std::to_string(r.status) + ": " + r.body : r.error);
    }
    if (r.status == 0 || r.Header("Connection") == "close") s.reset();
  }
}

}  // namespace tacc::testing
