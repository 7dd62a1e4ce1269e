// Listener hand-over: how a front end that stops on purpose gives its listening sockets
// (and its per-index lock) to its successor, so that its port never stops listening.
//
// The stopping front end opens a Unix socket (mode 0600) in the run directory; the
// successor, finding the per-index lock held, connects to it and receives the
// descriptors with SCM_RIGHTS. Both then hold the same sockets: connections queued in
// the kernel's accept backlog stay queued until the successor accepts them, nothing is
// reset, and no sysctl (tcp_migrate_req) is needed. Only a peer of the same user is
// served. docs/design.md, "Orderly stop of a front end", has the whole sequence.
//
// Protocol on one SOCK_SEQPACKET connection:
//   old -> new   "tacc-handover 1 <http count> <admin 0|1>" + SCM_RIGHTS {lock, [admin], http...}
//   new -> old   "taken" once the new front end serves on them
// If "taken" does not come (the successor failed), the old front end resumes accepting.
//
// Blocking calls with timeouts; used on the front end's stop thread and in Start().
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace tacc::sns {

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// What a front end hands over. Received descriptors are close-on-exec.
struct HandedSockets {
  UniqueFd lock;               // the per-index FileLock's descriptor
  UniqueFd admin;              // the admin listener; may be empty
  std::vector<UniqueFd> http;  // the public port's SO_REUSEPORT sockets, one per thread
};

class HandoverChannel {
 public:
  // Successor: connects to a stopping front end's hand-over socket. Unavailable if
  // nobody offers one there.
  static Result<HandoverChannel> Connect(const std::string& path);
  // Stopping front end: sends the descriptors (they stay owned by the caller).
  Status Send(int lock_fd, int admin_fd, const std::vector<int>& http_fds);
  Result<HandedSockets> Receive(std::chrono::milliseconds timeout);
  // Successor: "I serve on them now".
  Status Confirm();
  Status AwaitConfirm(std::chrono::milliseconds timeout);

 private:
  explicit HandoverChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  friend class HandoverListener;
  UniqueFd fd_;
};

// The stopping front end's offer. Removes its socket file when destroyed.
class HandoverListener {
 public:
  static Result<HandoverListener> Open(const std::string& path);
  HandoverListener(HandoverListener&&) noexcept = default;
  ~HandoverListener();
  // Waits for a successor. Timeout if none came; InvalidArgument for a peer of another
  // user (refused; the caller may wait for the next one).
  Result<HandoverChannel> Accept(std::chrono::milliseconds timeout);

 private:
  HandoverListener(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace tacc::sns
