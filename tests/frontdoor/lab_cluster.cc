#include "lab_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tacc::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

LabCluster::LabCluster(NetnsLab& lab, std::vector<std::string> settings) : lab_(lab), settings_(std::move(settings)) {
  char tmpl[] = "/tmp/tacc-lab-XXXXXX";
  dir_ = mkdtemp(tmpl);
  auto r = NetnsLab::ExecResult{};
  std::string key = dir_ + "/cluster.key";
  std::string cmd = std::string(TACC_BINARY) + " key generate --out " + key + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "tacc key generate failed";
}

LabCluster::~LabCluster() {
  std::error_code ec;
  if (::testing::Test::HasFailure()) std::cerr << Log();
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> LabCluster::Args(const NetnsLab::Host& host, const std::vector<std::string>& extra) const {
  std::vector<std::string> sets = {"cluster.name=lab",
                                   "cluster.run_dir=" + dir_ + "/run-" + host.name,
                                   "cluster.key_file=" + dir_ + "/cluster.key",
                                   "cluster.host=" + host.ip,
                                   "beacon.interface=" + host.ip,
                                   "beacon.interval_ms=200",
                                   "frontend.manager_timeout_ms=1000",
                                   "frontend.restart_manager=false",
                                   "frontend.service=test",
                                   "frontend.threads=1",
                                   "frontend.host=0.0.0.0",
                                   "frontend.admin_port=0",
                                   "manager.peer_timeout_ms=1000",
                                   "frontdoor.health_interval_ms=200",
                                   "frontdoor.health_timeout_ms=200",
                                   "log.level=info"};
  for (auto& c : {"cache", "jpeg", "png", "gif", "html_munger", "keyword_filter"}) sets.push_back(std::string("classes.") + c + ".min_workers=0");
  sets.insert(sets.end(), settings_.begin(), settings_.end());
  sets.insert(sets.end(), extra.begin(), extra.end());
  std::vector<std::string> args;
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

pid_t LabCluster::StartManager(const NetnsLab::Host& host) {
  std::vector<std::string> argv = {TACC_BINARY, "manager"};
  auto a = Args(host, {});
  argv.insert(argv.end(), a.begin(), a.end());
  std::string log = dir_ + "/manager-" + host.name + ".log";
  logs_["manager@" + host.name] = log;
  return lab_.Spawn(host, argv, log);
}

pid_t LabCluster::StartFrontend(const NetnsLab::Host& host, int index, int port, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {TACC_BINARY, "frontend", "--index", std::to_string(index), "--port", std::to_string(port)};
  auto a = Args(host, extra);
  argv.insert(argv.end(), a.begin(), a.end());
  std::string log = dir_ + "/frontend-" + host.name + ".log";
  logs_["frontend@" + host.name] = log;
  return lab_.Spawn(host, argv, log);
}

pid_t LabCluster::StartDispatcher(const NetnsLab::Host& host, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {TACC_BINARY, "dispatch"};
  auto a = Args(host, extra);
  argv.insert(argv.end(), a.begin(), a.end());
  std::string log = dir_ + "/dispatch-" + host.name + ".log";
  logs_["dispatch@" + host.name] = log;
  return lab_.Spawn(host, argv, log);
}

void LabCluster::Kill(pid_t pid) { EXPECT_TRUE(lab_.Kill(pid, SIGKILL)) << "pid " << pid << " did not die"; }

TimedConnection::TimedConnection(const std::string& ip, int port, std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
    error_ = std::string("connect: ") + std::strerror(errno);
  } else if (!WaitFor(POLLOUT, std::chrono::steady_clock::now() + timeout)) {
    error_ = "connect: timed out";
  } else {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) error_ = std::string("connect: ") + std::strerror(err);
  }
  if (!error_.empty()) {
    ::close(fd_);
    fd_ = -1;
  }
}

TimedConnection::~TimedConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool TimedConnection::WaitFor(short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool TimedConnection::Send(const std::string& bytes, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && WaitFor(POLLOUT, deadline)) continue;
    error_ = "send failed or timed out";
    return false;
  }
  return true;
}

bool TimedConnection::ReadToEnd(std::string* out, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  *out += pending_;
  pending_.clear();
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return true;
    if ((errno == EAGAIN || errno == EINTR) && WaitFor(POLLIN, deadline)) continue;
    if (errno == ECONNRESET) return true;
    error_ = errno == EAGAIN ? "read: timed out" : std::string("read: ") + std::strerror(errno);
    return false;
  }
}

std::optional<std::string> TimedConnection::ReadAnswerBody(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[16384];
  for (;;) {
    auto head_end = pending_.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      auto cl = pending_.find("Content-Length: ");
      size_t len = cl == std::string::npos || cl > head_end ? 0 : std::stoul(pending_.substr(cl + 16));
      if (pending_.size() >= head_end + 4 + len) {
        std::string body = pending_.substr(head_end + 4, len);
        pending_.erase(0, head_end + 4 + len);
        return body;
      }
    }
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      pending_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && WaitFor(POLLIN, deadline)) continue;
    error_ = n == 0 ? "closed" : "read failed or timed out";
    return std::nullopt;
  }
}

LabReply LabCluster::Get(const NetnsLab::Host& from, const std::string& ip, int port, const std::string& target, std::chrono::milliseconds timeout) {
  LabReply reply;
  lab_.RunIn(from, [&] {
    TimedConnection c(ip, port, timeout);
    std::string all;
    if (!c.ok() || !c.Send("GET " + target + " HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", timeout) || !c.ReadToEnd(&all, timeout))
      reply.error = c.error();
    if (all.size() < 12 || all.compare(0, 5, "HTTP/") != 0) {
      if (reply.error.empty()) reply.error = "no HTTP answer";
      return;
    }
    reply.status = std::stoi(all.substr(9, 3));
    auto body = all.find("\r\n\r\n");
    if (body != std::string::npos) reply.body = all.substr(body + 4);
  });
  return reply;
}

std::vector<std::string> LabCluster::WhoAmI(const NetnsLab::Host& from, const std::string& ip, int port, int requests) {
  std::vector<std::string> hosts;
  for (int i = 0; i < requests; ++i) {
    auto r = Get(from, ip, port, "/whoami");
    hosts.push_back(r.status == 200 ? WhoAmIHost(r.body) : "error:" + std::to_string(r.status) + " " + r.error);
  }
  return hosts;
}

std::string LabCluster::LogOf(const std::string& name) const {
  auto it = logs_.find(name);
  if (it == logs_.end()) return "";
  std::ifstream in(it->second);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LabCluster::Log() const {
  std::string out;
  for (auto& [name, path] : logs_) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    out += "---- " + name + "\n" + ss.str();
  }
  return out;
}

namespace {
std::string Field(const std::string& body, const std::string& name) {
  auto at = body.find(name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  auto end = body.find_first_of(" \n", at);
  return body.substr(at, end == std::string::npos ? std::string::npos : end - at);
}
}  // namespace

std::string WhoAmIHost(const std::string& body) { return Field(body, "host"); }
std::string WhoAmIClient(const std::string& body) { return Field(body, "client"); }
std::string WhoAmIFor(const std::string& body) { return Field(body, "for"); }

}  // namespace tacc::testing
