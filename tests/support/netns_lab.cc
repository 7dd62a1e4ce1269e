#include "netns_lab.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tacc::testing {
namespace {

std::atomic<int> g_lab_counter{0};

// fork + exec with stdout/stderr into a pipe; the child gets SIGKILL with its parent.
NetnsLab::ExecResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  NetnsLab::ExecResult r;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    r.output = "pipe failed";
    return r;
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      r.output += "\n(timed out)";
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return r;
}

bool Run(const std::vector<std::string>& argv, std::string* out = nullptr) {
  auto r = RunCommand(argv, std::chrono::seconds(20));
  if (out) *out = r.output;
  return r.exit_code == 0;
}

void Must(const std::vector<std::string>& argv) {
  std::string out;
  if (!Run(argv, &out)) {
    std::string cmd;
    for (auto& a : argv) cmd += a + " ";
    throw std::runtime_error("netns lab: `" + cmd + "` failed: " + out);
  }
}

std::vector<std::string> ListNamespaces() {
  std::string out;
  Run({"ip", "netns", "list"}, &out);
  std::vector<std::string> names;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    names.push_back(line.substr(0, sp));
  }
  return names;
}

void KillAllIn(const std::string& ns) {
  for (int round = 0; round < 20; ++round) {
    std::string out;
    Run({"ip", "netns", "pids", ns}, &out);
    std::istringstream in(out);
    bool any = false;
    pid_t pid;
    while (in >> pid) {
      any = true;
      kill(pid, SIGKILL);
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

bool NetnsLab::Available(std::string* why) {
  if (geteuid() != 0) {
    if (why) *why = "needs root (network namespaces, veth, bridge)";
    return false;
  }
  std::string out;
  std::string probe = "tlprobe" + std::to_string(getpid());
  if (!Run({"ip", "netns", "add", probe}, &out)) {
    if (why) *why = "ip netns add failed: " + out;
    return false;
  }
  Run({"ip", "netns", "del", probe});
  return true;
}

void NetnsLab::RemoveStaleLabs() {
  static const std::regex kLab("^tl([0-9]+)x[0-9]+-.*");
  for (auto& ns : ListNamespaces()) {
    std::smatch m;
    if (!std::regex_match(ns, m, kLab)) continue;
    pid_t owner = std::stoi(m[1]);
    if (owner == getpid() || kill(owner, 0) == 0) continue;
    KillAllIn(ns);
    Run({"ip", "netns", "del", ns});
  }
}

NetnsLab::NetnsLab() {
  RemoveStaleLabs();
  prefix_ = "tl" + std::to_string(getpid()) + "x" + std::to_string(g_lab_counter++) + "-";
  Must({"ip", "netns", "add", switch_ns()});
  made_switch_ = true;
  Must({"ip", "-n", switch_ns(), "link", "add", "br0", "type", "bridge"});
  // Frames cross the bridge at once (no STP learning delay on new ports).
  Must({"ip", "-n", switch_ns(), "link", "set", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0"});
  Must({"ip", "-n", switch_ns(), "link", "set", "br0", "up"});
  Must({"ip", "-n", switch_ns(), "link", "set", "lo", "up"});
}

NetnsLab::~NetnsLab() { Teardown(); }

void NetnsLab::Teardown() {
  for (pid_t pid : spawned_) Kill(pid, SIGKILL, std::chrono::seconds(2));
  spawned_.clear();
  for (auto& h : hosts_) {
    KillAllIn(h->ns);
    Run({"ip", "netns", "del", h->ns});
  }
  hosts_.clear();
  if (made_switch_) {
    KillAllIn(switch_ns());
    Run({"ip", "netns", "del", switch_ns()});
    made_switch_ = false;
  }
}

const NetnsLab::Host& NetnsLab::AddHost(const std::string& name) {
  static const std::regex kName("^[A-Za-z0-9-]{1,8}$");
  if (!std::regex_match(name, kName)) throw std::invalid_argument("netns lab: bad host name " + name);
  for (auto& h : hosts_)
    if (h->name == name) throw std::invalid_argument("netns lab: host " + name + " exists");
  auto h = std::make_unique<Host>();
  h->index = 10 + static_cast<int>(hosts_.size());
  if (h->index > 250) throw std::invalid_argument("netns lab: too many hosts");
  h->name = name;
  h->ns = prefix_ + name;
  h->ip = "10.0.0." + std::to_string(h->index);
  char mac[32];
  std::snprintf(mac, sizeof mac, "02:00:00:00:00:%02x", h->index);
  h->mac = mac;
  std::string port = "p" + std::to_string(h->index);
  Must({"ip", "netns", "add", h->ns});
  Must({"ip", "-n", switch_ns(), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h->ns});
  Must({"ip", "-n", switch_ns(), "link", "set", port, "master", "br0"});
  Must({"ip", "-n", switch_ns(), "link", "set", port, "up"});
  Must({"ip", "-n", h->ns, "link", "set", "eth0", "address", h->mac});
  Must({"ip", "-n", h->ns, "addr", "add", h->ip + "/24", "dev", "eth0"});
  Must({"ip", "-n", h->ns, "link", "set", "eth0", "up"});
  Must({"ip", "-n", h->ns, "link", "set", "lo", "up"});
  hosts_.push_back(std::move(h));
  return *hosts_.back();
}

const NetnsLab::Host& NetnsLab::host(const std::string& name) const {
  for (auto& h : hosts_)
    if (h->name == name) return *h;
  throw std::invalid_argument("netns lab: no host " + name);
}

NetnsLab::ExecResult NetnsLab::Exec(const Host& host, const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::vector<std::string> full = {"ip", "netns", "exec", host.ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCommand(full, timeout);
}

std::string NetnsLab::MustExec(const Host& host, const std::vector<std::string>& argv) {
  auto r = Exec(host, argv);
  if (r.exit_code != 0) {
    std::string cmd;
    for (auto& a : argv) cmd += a + " ";
    ADD_FAILURE() << "in " << host.name << ": `" << cmd << "` exited " << r.exit_code << ": " << r.output;
  }
  return r.output;
}

pid_t NetnsLab::Spawn(const Host& host, const std::vector<std::string>& argv, const std::string& log_path) {
  std::string ns_path = "/run/netns/" + host.ns;
  int ns_fd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) throw std::runtime_error("netns lab: cannot open " + ns_path);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    close(ns_fd);
    throw std::runtime_error("netns lab: cannot open " + log_path);
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(ns_fd);
  close(log_fd);
  if (pid < 0) throw std::runtime_error("netns lab: fork failed");
  spawned_.push_back(pid);
  return pid;
}

bool NetnsLab::Kill(pid_t pid, int sig, std::chrono::milliseconds timeout) {
  kill(pid, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      std::erase(spawned_, pid);
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void NetnsLab::RunIn(const Host& host, const std::function<void()>& fn) {
  std::string ns_path = "/run/netns/" + host.ns;
  std::string error;
  std::thread t([&] {
    int fd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      error = "cannot enter " + ns_path;
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
    fn();
  });
  t.join();
  if (!error.empty()) throw std::runtime_error("netns lab: " + error);
}

NetnsLab::Counters NetnsLab::InterfaceCounters(const Host& host) {
  Counters c;
  RunIn(host, [&] {
    // /proc/thread-self/net is this thread's namespace (the host's).
    std::ifstream in("/proc/thread-self/net/dev");
    std::string line;
    while (std::getline(in, line)) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      name.erase(0, name.find_first_not_of(' '));
      if (name != "eth0") continue;
      std::istringstream fields(line.substr(colon + 1));
      uint64_t v[16] = {};
      for (auto& x : v) fields >> x;
      c.rx_bytes = v[0];
      c.rx_packets = v[1];
      c.tx_bytes = v[8];
      c.tx_packets = v[9];
    }
  });
  return c;
}

}  // namespace tacc::testing
