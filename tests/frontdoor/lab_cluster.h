// LabCluster: a tacc cluster spread over the hosts of a NetnsLab, for the front door's
// tests: a manager on one host, front ends on others (`tacc frontend`, service "test",
// answering GET /whoami with their host), dispatchers (`tacc dispatch`), each a real
// process in its host's namespace with its own address as cluster.host and beacon
// interface. Beacons are multicast across the lab's switch, authenticated with one
// cluster key the cluster makes at start. Logs go to one file per process in a
// temporary directory, removed at the end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <memory>

#include "netns_lab.h"

namespace tacc::testing {

// A TCP connection made and used with plain system calls, every step bounded by a
// deadline (Asio's blocking calls wait without end when a peer goes silent, whatever
// SO_RCVTIMEO says). Made in the calling thread's network namespace.
class TimedConnection {
 public:
  TimedConnection(const std::string& ip, int port, std::chrono::milliseconds timeout);
  ~TimedConnection();
  TimedConnection(const TimedConnection&) = delete;
  TimedConnection& operator=(const TimedConnection&) = delete;
  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  bool Send(const std::string& bytes, std::chrono::milliseconds timeout);
  // Appends what arrives to *out until the peer closes (true) or the deadline (false).
  bool ReadToEnd(std::string* out, std::chrono::milliseconds timeout);
  // One HTTP answer framed by Content-Length (head and body), read whole; its body, or
  // nullopt on close, error or deadline.
  std::optional<std::string> ReadAnswerBody(std::chrono::milliseconds timeout);

 private:
  bool WaitFor(short events, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string error_;
  std::string pending_;  // bytes read beyond the last answer
};

struct LabReply {
  int status = 0;  // 0: no answer
  std::string body;
  std::string error;
};

class LabCluster {
 public:
  // `settings`: extra --set key=value for every process.
  LabCluster(NetnsLab& lab, std::vector<std::string> settings = {});
  ~LabCluster();

  pid_t StartManager(const NetnsLab::Host& host);
  // A front end listening on 0.0.0.0:port (frontend.host), index `index`.
  pid_t StartFrontend(const NetnsLab::Host& host, int index, int port = 8080, const std::vector<std::string>& extra = {});
  pid_t StartDispatcher(const NetnsLab::Host& host, const std::vector<std::string>& extra);
  // SIGKILL, and wait for the process to go.
  void Kill(pid_t pid);

  // One GET from `from` to ip:port (a fresh connection, Connection: close).
  LabReply Get(const NetnsLab::Host& from, const std::string& ip, int port, const std::string& target,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // GET /whoami until `pred(host=...)` holds for the answer's host, up to `timeout`.
  // Returns the hosts that answered, in order.
  std::vector<std::string> WhoAmI(const NetnsLab::Host& from, const std::string& ip, int port, int requests);

  std::string Log() const;  // every process's log, each under its name
  std::string LogOf(const std::string& name) const;  // one process's: "dispatch@disp2"
  const std::string& dir() const { return dir_; }
  std::vector<std::string> Args(const NetnsLab::Host& host, const std::vector<std::string>& extra) const;

 private:
  NetnsLab& lab_;
  std::vector<std::string> settings_;
  std::string dir_;
  std::map<std::string, std::string> logs_;  // name -> path
};

// A test on a lab: hosts "client", the dispatcher host(s) ("disp", or "disp1" and
// "disp2"), "mgr", and front-end hosts "fe1".."feN"; a LabCluster over them. Skips
// when this machine cannot make namespaces (not root).
class LabClusterTest : public ::testing::Test {
 protected:
  LabClusterTest(int dispatchers, int frontends) : dispatchers_(dispatchers), frontends_(frontends) {}
  void SetUp() override {
    std::string why;
    if (!NetnsLab::Available(&why)) GTEST_SKIP() << why;
    lab_ = std::make_unique<NetnsLab>();
    client_ = &lab_->AddHost("client");
    if (dispatchers_ == 1) {
      disp_ = d1_ = &lab_->AddHost("disp");
    } else {
      disp_ = d1_ = &lab_->AddHost("disp1");
      d2_ = &lab_->AddHost("disp2");
    }
    mgr_ = &lab_->AddHost("mgr");
    for (int i = 0; i < frontends_; ++i) fes_.push_back(&lab_->AddHost("fe" + std::to_string(i + 1)));
    cluster_ = std::make_unique<LabCluster>(*lab_);
  }
  void TearDown() override {
    cluster_.reset();
    lab_.reset();
  }

  const int dispatchers_, frontends_;
  std::unique_ptr<NetnsLab> lab_;
  const NetnsLab::Host *client_ = nullptr, *disp_ = nullptr, *d1_ = nullptr, *d2_ = nullptr, *mgr_ = nullptr;
  std::vector<const NetnsLab::Host*> fes_;
  std::unique_ptr<LabCluster> cluster_;
};

// "host=10.0.0.12 pid=..." -> "10.0.0.12"; "" if absent.
std::string WhoAmIHost(const std::string& body);
std::string WhoAmIClient(const std::string& body);  // the client address the front end saw
std::string WhoAmIFor(const std::string& body);     // whom it took the request to be from (http.trusted_proxies)

}  // namespace tacc::testing
