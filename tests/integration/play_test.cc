// `tacc play` end to end: the real binary against real origin servers on loopback.
// Rates held, trace timestamps honoured, closed-loop users thinking, logs imported with
// bad lines reported, several targets, errors counted by kind, the rate changed live.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "cluster_harness.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {

using Clock = std::chrono::steady_clock;

// An origin that answers "ok" and remembers when each request came and what it was.
class RecordingOrigin {
 public:
  explicit RecordingOrigin(std::chrono::milliseconds delay = std::chrono::milliseconds(0), std::string extra = "")
      : origin_([this, delay, extra](const TestOrigin::Request& r) {
          {
            std::lock_guard l(mu_);
            times_.push_back(Clock::now());
            cookies_.push_back(std::string(r[boost::beast::http::field::cookie]));
            ++in_flight_;
            max_in_flight_ = std::max(max_in_flight_, in_flight_);
          }
          if (delay.count()) std::this_thread::sleep_for(delay);
          {
            std::lock_guard l(mu_);
            --in_flight_;
          }
          return OkAnswer("ok", "text/plain", extra);
        }) {}
  uint16_t port() const { return origin_.port(); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port()); }
  std::vector<Clock::time_point> times() {
    std::lock_guard l(mu_);
    return times_;
  }
  std::vector<std::string> cookies() {
    std::lock_guard l(mu_);
    return cookies_;
  }
  int max_in_flight() {
    std::lock_guard l(mu_);
    return max_in_flight_;
  }
  std::vector<std::string> targets() { return origin_.targets(); }

 private:
  std::mutex mu_;
  std::vector<Clock::time_point> times_;
  std::vector<std::string> cookies_;
  int in_flight_ = 0, max_in_flight_ = 0;
  TestOrigin origin_;
};

std::string TempPath(const std::string& name) { return "/tmp/tacc-play-test-" + std::to_string(getpid()) + "-" + name; }

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The per-second series: column `name` of each second.
std::vector<double> SeriesColumn(const std::string& csv, const std::string& name) {
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string h; std::getline(hs, h, ',');) header.push_back(h);
  size_t col = std::find(header.begin(), header.end(), name) - header.begin();
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string cell;
    for (size_t i = 0; i <= col && std::getline(ls, cell, ','); ++i) {
    }
    out.push_back(std::stod(cell));
  }
  return out;
}

// A number from the JSON summary: `"key": 123`.
double JsonNumber(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\": ");
  if (at == std::string::npos) return -1;
  return std::stod(json.substr(at + key.size() + 4));
}

TEST(PlayTest, HelpSaysHowToOfferLoad) {
  auto r = RunTacc({"play", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--rate", "--trace", "--users", "--think", "--speedup", "--choice", "--json", "--series"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
  auto none = RunTacc({"play", "--target", "127.0.0.1:1", "--url", "/x"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.output.find("--rate"), std::string::npos) << none.output;
  for (const char* sub : {"synth", "stats", "import", "serve"}) {
    auto t = RunTacc({"trace", sub, "--help"});
    EXPECT_EQ(t.exit_code, 0) << sub << ": " << t.output;
    EXPECT_NE(t.output.find("Usage"), std::string::npos) << sub;
  }
  auto bad = RunTacc({"trace", "synth", "--burstiness", "0.2", "-n", "10"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--burstiness"), std::string::npos) << bad.output;
  auto open_ended = RunTacc({"play", "--target", "127.0.0.1:1", "--mode", "reverse", "--url", "/x", "--rate", "10"});
  EXPECT_EQ(open_ended.exit_code, 2);
  EXPECT_NE(open_ended.output.find("duration"), std::string::npos) << open_ended.output;
}

TEST(PlayTest, OpenLoopHoldsItsRateThroughSteps) {
  RecordingOrigin origin;
  std::string series = TempPath("steps.csv"), json = TempPath("steps.json");
  auto r = RunTacc({"play", "-t", origin.target(), "--mode", "reverse", "--url", "/x", "--rate", "200,600@2", "--arrivals", "uniform", "-d", "4s",
                    "--series", series, "--json", json, "--progress", "never"},
                   30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(static_cast<double>(origin.times().size()), 1600, 1600 * 0.03) << r.output;
  auto offered = SeriesColumn(Slurp(series), "offered");
  auto answered = SeriesColumn(Slurp(series), "answered");
  ASSERT_GE(offered.size(), 4u);
  for (int s : {0, 1}) EXPECT_NEAR(offered[static_cast<size_t>(s)], 200, 2) << "second " << s;
  for (int s : {2, 3}) EXPECT_NEAR(offered[static_cast<size_t>(s)], 600, 2) << "second " << s;
  for (int s : {1, 3}) EXPECT_NEAR(answered[static_cast<size_t>(s)], offered[static_cast<size_t>(s)], offered[static_cast<size_t>(s)] * 0.1) << "second " << s;
  std::string j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "answered"), static_cast<double>(origin.times().size())) << j;
  EXPECT_EQ(JsonNumber(j, "failed"), 0) << j;
  EXPECT_EQ(JsonNumber(j, "200"), static_cast<double>(origin.times().size())) << j;
  EXPECT_GT(JsonNumber(j, "p99"), 0) << j;
  unlink(series.c_str());
  unlink(json.c_str());
}

TEST(PlayTest, TracePlaybackHonoursTimestampsAndSpeedUp) {
  RecordingOrigin origin;
  std::string trace = TempPath("times.trace");
  const std::vector<int> at_ms = {0, 200, 600, 1000, 1600, 1610, 2400};
  std::string text = "#tacc-trace 1\n";
  for (size_t i = 0; i < at_ms.size(); ++i) text += std::to_string(at_ms[i] * 1000) + "\tu" + std::to_string(i % 2) + "\tGET\t/r" + std::to_string(i) + "\t200\t2\t-\n";
  WriteFile(trace, text);
  auto r = RunTacc({"play", "-t", origin.target(), "--mode", "reverse", "--trace", trace, "--speedup", "2", "--progress", "never"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto times = origin.times();
  ASSERT_EQ(times.size(), at_ms.size()) << r.output;
  std::vector<std::string> expected_targets;
  for (size_t i = 0; i < at_ms.size(); ++i) expected_targets.push_back("/r" + std::to_string(i));
  EXPECT_EQ(origin.targets(), expected_targets);
  for (size_t i = 1; i < times.size(); ++i) {
    double got = std::chrono::duration<double, std::milli>(times[i] - times[0]).count();
    EXPECT_NEAR(got, at_ms[i] / 2.0, 50) << "request " << i;
  }
  unlink(trace.c_str());
}

TEST(PlayTest, ClosedLoopUsersWaitForTheirAnswersAndThink) {
  // Each user: a 100 ms answer, then 300 ms of thought: about 2.5 requests a second each.
  RecordingOrigin origin(std::chrono::milliseconds(100));
  auto r = RunTacc({"play", "-t", origin.target(), "--mode", "reverse", "--url", "/u", "--users", "2", "--think", "fixed:300ms", "-d", "2500ms",
                    "--progress", "never"},
                   30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LE(origin.max_in_flight(), 2) << "a closed-loop user sent before its answer came";
  double n = static_cast<double>(origin.times().size());
  EXPECT_GE(n, 9) << r.output;  // 2 users x 2.5 s / 0.4 s, less the staggered start
  EXPECT_LE(n, 14) << r.output;
  // Without thinking the same two users would have sent about 50.
}

TEST(PlayTest, ImportedSquidLogReplaysAgainstAnOriginAndCountsBadLines) {
  RecordingOrigin origin;
  std::string log = TempPath("access.log"), json = TempPath("import.json");
  WriteFile(log,
            "1066036250.000     10 10.0.0.1 TCP_MISS/200 1234 GET http://www.far.example/a.gif - DIRECT/1.2.3.4 image/gif\n"
            "this is not a log line\n"
            "1066036250.100     10 10.0.0.2 TCP_MISS/200 99 GET http://www.far.example/b.html - DIRECT/1.2.3.4 text/html\n"
            "1066036250.200     10 10.0.0.1 TCP_MISS/200 bytes GET http://www.far.example/c.jpg - DIRECT/1.2.3.4 image/jpeg\n"
            "1066036250.300     10 10.0.0.3 TCP_HIT/200 77 GET http://other.example/d/e.jpg?x=1 - NONE/- image/jpeg\n");
  std::string origin_url = "http://127.0.0.1:" + std::to_string(origin.port());
  auto r = RunTacc({"play", "-t", origin.target(), "--trace", log, "--origin", origin_url, "--json", json, "--progress", "never"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2 bad lines of 5"), std::string::npos) << r.output;
  std::vector<std::string> want = {origin_url + "/a.gif", origin_url + "/b.html", origin_url + "/d/e.jpg?x=1"};
  EXPECT_EQ(origin.targets(), want);  // forward-proxy form, re-pointed at the origin
  std::string j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "bad_lines"), 2) << j;
  EXPECT_EQ(JsonNumber(j, "bad bytes"), 1) << j;
  // Each client address is a user with its own cookie; 10.0.0.1's two requests carry the same one.
  auto cookies = origin.cookies();
  ASSERT_EQ(cookies.size(), 3u);
  EXPECT_NE(cookies[0], cookies[1]);
  EXPECT_EQ(cookies[0].rfind("tacc_user=", 0), 0u) << cookies[0];
  unlink(log.c_str());
  unlink(json.c_str());
}

TEST(PlayTest, SeveralTargetsRoundRobinOrStickyPerUser) {
  RecordingOrigin a, b;
  std::string both = a.target() + "," + b.target();
  auto r = RunTacc({"play", "-t", both, "--mode", "reverse", "--url", "/x", "--rate", "200", "-n", "40", "--progress", "never"}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(a.times().size(), 20u);
  EXPECT_EQ(b.times().size(), 20u);

  RecordingOrigin c, d;
  std::string trace = TempPath("users.trace");
  std::string text = "#tacc-trace 1\n";
  for (int i = 0; i < 60; ++i) text += std::to_string(i * 1000) + "\tuser" + std::to_string(i % 6) + "\tGET\t/p" + std::to_string(i) + "\t200\t2\t-\n";
  WriteFile(trace, text);
  auto s = RunTacc({"play", "-t", c.target(), "-t", d.target(), "--mode", "reverse", "--trace", trace, "--choice", "user", "--progress", "never"}, 30s);
  ASSERT_EQ(s.exit_code, 0) << s.output;
  auto cc = c.cookies(), dc = d.cookies();
  EXPECT_EQ(cc.size() + dc.size(), 60u);
  std::set<std::string> at_c(cc.begin(), cc.end()), at_d(dc.begin(), dc.end());
  for (const auto& u : at_c) EXPECT_EQ(at_d.count(u), 0u) << u << " went to both targets";
  EXPECT_EQ(at_c.size() + at_d.size(), 6u);
  unlink(trace.c_str());
}

TEST(PlayTest, ErrorsAndApproximateAnswersAreCountedByKind) {
  // Nothing listens on a port we bound and closed: refused.
  int port;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acc(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acc.local_endpoint().port();
  }
  std::string json = TempPath("errors.json");
  auto refused = RunTacc({"play", "-t", "127.0.0.1:" + std::to_string(port), "--mode", "reverse", "--url", "/x", "--rate", "100", "-n", "5", "--json",
                          json, "--progress", "never"},
                         30s);
  ASSERT_EQ(refused.exit_code, 0) << refused.output;
  std::string j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "connect_refused"), 5) << j;
  EXPECT_EQ(JsonNumber(j, "answered"), 0) << j;

  RecordingOrigin slow(std::chrono::milliseconds(1500));
  auto timeout = RunTacc({"play", "-t", slow.target(), "--mode", "reverse", "--url", "/x", "--rate", "10", "-n", "3", "--timeout", "300ms", "--json",
                          json, "--progress", "never"},
                         30s);
  ASSERT_EQ(timeout.exit_code, 0) << timeout.output;
  j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "timeout"), 3) << j;

  RecordingOrigin approx(std::chrono::milliseconds(0), "X-Tacc-Approximate: original\r\n");
  auto ap = RunTacc({"play", "-t", approx.target(), "--mode", "reverse", "--url", "/x", "--rate", "100", "-n", "7", "--json", json, "--progress", "never"},
                    30s);
  ASSERT_EQ(ap.exit_code, 0) << ap.output;
  j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "approximate"), 7) << j;
  EXPECT_EQ(JsonNumber(j, "answered"), 7) << j;
  unlink(json.c_str());
}

// A server that closes keep-alive connections idle for 200 ms (as front ends and origins
// do after their idle timeout): bursts after pauses find every pooled connection stale.
class IdleClosingServer {
 public:
  IdleClosingServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      for (;;) {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket s(io_);
        acceptor_.accept(s, ec);
        if (ec || stop_) return;
        int fd = s.release();
        std::lock_guard l(mu_);
        fds_.push_back(fd);
        conns_.emplace_back([fd] {
          timeval tv{0, 200000};
          setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          std::string in;
          char buf[4096];
          for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) break;  // idle for 200 ms, or the client left: close
            in.append(buf, static_cast<size_t>(n));
            size_t end;
            while ((end = in.find("\r\n\r\n")) != std::string::npos) {
              in.erase(0, end + 4);
              std::this_thread::sleep_for(std::chrono::milliseconds(5));  // so that bursts need many connections
              static const std::string kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
              if (write(fd, kAnswer.data(), kAnswer.size()) < 0) break;
            }
          }
          shutdown(fd, SHUT_RDWR);
        });
      }
    });
  }
  ~IdleClosingServer() {
    stop_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    for (auto& t : conns_) t.join();
    for (int fd : fds_) close(fd);
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> conns_;
  std::thread thread_;
};

// Regression (2026-12-02, experiment 4 lost 30 of 55,000 as "closed"): the one retry
// after a stale pooled connection took the next pooled one, as stale; it must open anew.
TEST(PlayTest, ConnectionsTheServerClosedWhileIdleAreReplaced) {
  IdleClosingServer server;
  std::string json = TempPath("stale.json");
  // Bursts of 2,000/s for 0.3 s (about ten connections busy), 0.5 s pauses.
  auto r = RunTacc({"play", "-t", server.target(), "--mode", "reverse", "--url", "/x", "--rate", "2000,0@0.3,2000@0.8,0@1.1,2000@1.6", "--arrivals",
                    "uniform", "-d", "1900ms", "--json", json, "--progress", "never"},
                   30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "failed"), 0) << j;
  EXPECT_EQ(JsonNumber(j, "answered"), 1800) << j;
  EXPECT_GE(JsonNumber(j, "connections_opened"), 10) << j;  // the pauses did empty the pool
  unlink(json.c_str());
}

TEST(PlayTest, TheRateChangesWhileItRuns) {
  RecordingOrigin origin;
  std::string series = TempPath("live.csv");
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    std::vector<std::string> args = {TACC_BINARY, "play", "-t", origin.target(), "--mode", "reverse", "--url", "/x", "--rate", "100", "--arrivals",
                                     "uniform", "-d", "4s", "--series", series, "--progress", "never"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(TACC_BINARY, argv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // Once a quarter of the run has been answered at 100/s, ask for 400/s.
  auto deadline = Clock::now() + 20s;
  while (origin.times().size() < 150 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_GE(origin.times().size(), 150u);
  ASSERT_EQ(write(in[1], "rate 400\n", 9), 9);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  close(in[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  auto offered = SeriesColumn(Slurp(series), "offered");
  ASSERT_GE(offered.size(), 4u);
  EXPECT_NEAR(offered[0], 100, 3);
  EXPECT_NEAR(offered[3], 400, 8) << "the new rate did not hold";
  unlink(series.c_str());
}

}  // namespace
}  // namespace tacc::testing

namespace tacc::testing {
namespace {

// Starts `tacc <args>` with its stdout on a pipe; returns the pid and the fd to read.
pid_t SpawnWithOutput(const std::vector<std::string>& args, int* out_fd) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    std::vector<std::string> all = {TACC_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(TACC_BINARY, argv.data());
    _exit(127);
  }
  close(out[1]);
  *out_fd = out[0];
  return pid;
}

// A synthetic trace, its origin (`tacc trace serve`) and `tacc play` through a TranSend
// cluster: every request answered, the error pages still 404, repeats served from the cache.
TEST(PlayTest, ASynthesizedWorkloadThroughTranSend) {
  std::string trace = TempPath("synth.trace"), json = TempPath("synth.json");
  auto synth = RunTacc({"trace", "synth", "-n", "300", "-d", "20s", "--objects", "120", "--sites", "4", "--seed", "3", "-q", "-o", trace});
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  int out_fd = -1;
  pid_t serve = SpawnWithOutput({"trace", "serve", "--trace", trace, "--port", "0", "--max-side", "480", "--max-drawings", "4"}, &out_fd);
  ASSERT_GT(serve, 0);
  std::string line;
  auto deadline = Clock::now() + 120s;
  char ch;
  while (Clock::now() < deadline && read(out_fd, &ch, 1) == 1 && ch != '\n') line += ch;
  auto at = line.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << line;
  std::string origin = line.substr(at, line.find(' ', at) - at);

  // HEAD gets the head GET would, Content-Length included, and no body.
  {
    std::string path;
    std::istringstream lines(Slurp(trace));
    for (std::string l; std::getline(lines, l) && path.empty();) {
      if (l.empty() || l[0] == '#' || l.find("\t200\t") == std::string::npos) continue;
      std::string url = l.substr(l.find("http://"));
      url = url.substr(0, url.find('\t'));
      path = url.substr(url.find('/', 7));
    }
    int port = std::stoi(origin.substr(origin.rfind(':') + 1));
    std::string head = RawExchange("127.0.0.1", port, "HEAD " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto get = HttpRequest("127.0.0.1", port, "GET", path);
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
    EXPECT_NE(head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"), std::string::npos) << head;
    EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4) << "HEAD got a body";
  }
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]"}});
  c.Start();
  auto r = RunTacc({"play", "-t", "127.0.0.1:" + std::to_string(c.FrontendPort()), "--trace", trace, "--speedup", "4", "--origin", origin, "--json",
                    json, "--progress", "never"},
                   120s);
  kill(serve, SIGTERM);
  int status = 0;
  waitpid(serve, &status, 0);
  close(out_fd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string j = Slurp(json);
  EXPECT_EQ(JsonNumber(j, "answered"), 300) << j << c.Log();
  EXPECT_EQ(JsonNumber(j, "failed"), 0) << j;
  size_t logged_404 = 0;
  std::istringstream in(Slurp(trace));
  for (std::string l; std::getline(in, l);) logged_404 += l.find("\t404\t") != std::string::npos;
  EXPECT_EQ(JsonNumber(j, "404"), static_cast<double>(logged_404)) << j;
  EXPECT_EQ(JsonNumber(j, "200"), static_cast<double>(300 - logged_404)) << j;
  EXPECT_GT(JsonNumber(j, "cache_hits"), 0) << j;  // Zipf popularity: URLs come back
  unlink(trace.c_str());
  unlink(json.c_str());
}

}  // namespace
}  // namespace tacc::testing
