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
#include <string>
#include <vector>

#include "netns_lab.h"

namespace tacc::testing {

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

// "host=10.0.0.12 pid=..." -> "10.0.0.12"; "" if absent.
std::string WhoAmIHost(const std::string& body);
std::string WhoAmIClient(const std::string& body);  // the client address the front end saw

}  // namespace tacc::testing
