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

// fork + exec of SelfExePath() with `args` (argv[1..]). The child keeps stdout/stderr,
// gets /dev/null as stdin, and starts with default signal dispositions.
Result<pid_t> SpawnSelf(const std::vector<std::string>& args);

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
