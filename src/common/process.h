// Process helpers: re-executing this binary as another tacc command, liveness checks,
// and per-host exclusive locks (one manager, one front end per index).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace tacc {

// Path of the running tacc binary.
std::string SelfExePath();

// A child process this process started, held by a pidfd so that signals reach exactly
// that process even after its pid is reused.
struct ChildProcess {
  pid_t pid = 0;
  int pidfd = -1;  // owned by whoever holds the ChildProcess (close with CloseChild)
};

// fork + exec of SelfExePath() with `args` (argv[1..]). The child keeps stdout/stderr,
// gets /dev/null as stdin, starts with default signal dispositions, and inherits no
// other file descriptor but the lifeline (TACC_LIFELINE_FD): every other fd of the
// parent (listening sockets, connections, locks) is closed at exec, whatever flags it
// was opened with and whichever thread opened it meanwhile.
Result<ChildProcess> SpawnSelfWithHandle(const std::vector<std::string>& args);
// The same, for callers that only need the pid (no handle kept).
Result<pid_t> SpawnSelf(const std::vector<std::string>& args);
// Signals the child through its pidfd; false if it has already been reaped.
bool SignalChild(const ChildProcess& child, int signal);
void CloseChild(ChildProcess& child);

// The file descriptors this process holds (tests, diagnostics).
std::vector<int> OpenFds();

// True if a process with that pid exists and is not a zombie.
bool ProcessAlive(pid_t pid);

// An exclusive advisory lock on a file, held until destruction or process death.
class FileLock {
 public:
  // Creates parent directories as needed. NotFound-free: fails only with Unavailable
  // (someone else holds it) or Internal.
  static Result<FileLock> Acquire(const std::string& path);
  // Takes over a descriptor of a lock held elsewhere (passed over a Unix socket): flock
  // belongs to the open file, so the lock stays held while either copy is open.
  static FileLock Adopt(int fd) { return FileLock(fd); }
  int fd() const { return fd_; }  // still owned by this object
  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace tacc
