#include "lab_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

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

LabReply LabCluster::Get(const NetnsLab::Host& from, const std::string& ip, int port, const std::string& target, std::chrono::milliseconds timeout) {
  LabReply reply;
  lab_.RunIn(from, [&] {
    asio::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    // Blocking with a receive/send timeout: simple, bounded.
    s.open(tcp::v4(), ec);
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s.connect(tcp::endpoint(asio::ip::make_address(ip), static_cast<uint16_t>(port)), ec);
    if (ec) {
      reply.error = "connect: " + ec.message();
      return;
    }
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n";
    asio::write(s, asio::buffer(req), ec);
    if (ec) {
      reply.error = "write: " + ec.message();
      return;
    }
    std::string all;
    char buf[8192];
    for (;;) {
      size_t n = s.read_some(asio::buffer(buf), ec);
      all.append(buf, n);
      if (ec) break;
    }
    if (ec != asio::error::eof) reply.error = "read: " + ec.message();
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

}  // namespace tacc::testing
