// NetnsLab: hosts for multi-host tests, made of Linux network namespaces on one machine.
//
// Each lab has a switch (a namespace holding a Linux bridge) and hosts: namespaces with
// one veth interface "eth0" plugged into the bridge, each with its own address in
// 10.0.0.0/24 (host i is 10.0.0.(10+i)) and its own MAC (02:00:00:00:00:<10+i>), and
// loopback up. Labs are isolated from each other and from the machine's own network, so
// tests may run in parallel and every lab may use the same addresses.
//
// Processes started in a host (Spawn) are real processes in its namespace; tests also run
// code of their own in a host (RunIn: a thread that joined the host's namespace, so the
// sockets it opens are the host's). The destructor kills every process in the lab's
// namespaces and deletes them, which removes the veths and the bridge with them. A lab
// left behind by a test process that died (SIGKILL) is removed by the next lab that
// starts: namespace names carry the owner's pid.
//
// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); Available() says whether this machine can.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tacc::testing {

class NetnsLab {
 public:
  struct Host {
    std::string name;  // the test's name for it ("client", "fe1", ...)
    std::string ns;    // namespace name, for `ip netns exec` / `ip -n`
    std::string ip;    // 10.0.0.x
    std::string mac;   // 02:00:00:00:00:xx
    int index = 0;
  };
  struct Counters {  // of a host's eth0
    uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
  };
  struct ExecResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr
  };

  // True if this process can make namespaces, veths and bridges; else why not.
  static bool Available(std::string* why);

  NetnsLab();
  ~NetnsLab();
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  // A new host plugged into the switch. Names: letters, digits, '-', at most 8.
  const Host& AddHost(const std::string& name);
  const Host& host(const std::string& name) const;
  const std::vector<std::unique_ptr<Host>>& hosts() const { return hosts_; }
  std::string switch_ns() const { return prefix_ + "sw"; }

  // Runs argv in `host`'s namespace to completion (ip netns exec), within `timeout`.
  ExecResult Exec(const Host& host, const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // The same, failing the current test (ADD_FAILURE) when the command does not exit 0.
  std::string MustExec(const Host& host, const std::vector<std::string>& argv);
  // Starts argv in `host`'s namespace in the background, stdout and stderr appended to
  // `log_path`. The process gets SIGKILL if the calling thread ends first (so spawn from
  // the test's own thread). The lab kills it at the end if it still runs.
  pid_t Spawn(const Host& host, const std::vector<std::string>& argv, const std::string& log_path);
  // Sends `sig` and waits (up to `timeout`) for the process to end; true if it did.
  bool Kill(pid_t pid, int sig, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Runs fn on a thread inside `host`'s namespace and waits for it.
  void RunIn(const Host& host, const std::function<void()>& fn);
  // Counters of `host`'s eth0, from the kernel.
  Counters InterfaceCounters(const Host& host);

 private:
  void Teardown();
  static void RemoveStaleLabs();

  std::string prefix_;  // "tl<pid>x<n>-"
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<pid_t> spawned_;
  bool made_switch_ = false;
};

}  // namespace tacc::testing
