#include "sns/listener_handover.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tacc::sns {

namespace {

constexpr size_t kMaxFds = 250;  // SCM_MAX_FD is 253
constexpr std::string_view kTaken = "taken";

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return Status::InvalidArgument("hand-over socket path too long: " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// Waits until fd is readable; Timeout otherwise.
Status WaitReadable(int fd, std::chrono::milliseconds timeout, const char* what) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left < 0) left = 0;
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return Status::Ok();
    if (n == 0) return Status::Timeout(std::string("no ") + what + " within " + std::to_string(timeout.count()) + " ms");
    if (errno != EINTR) return Status::Internal(Errno("poll"));
  }
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

// ---------------------------------------------------------------- HandoverListener

Result<HandoverListener> HandoverListener::Open(const std::string& path) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::Internal(Errno("socket"));
  ::unlink(path.c_str());  // a stale file of a front end that died
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un)) != 0) return Status::Unavailable(Errno("bind " + path));
  // Owner-only (connecting needs write permission); Accept() checks the peer's user too,
  // which also covers the moment before this chmod (umask is process-wide, not an option).
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), 4) != 0) return Status::Internal(Errno("listen " + path));
  return HandoverListener(std::move(fd), path);
}

HandoverListener::~HandoverListener() {
  if (fd_ && !path_.empty()) ::unlink(path_.c_str());
}

Result<HandoverChannel> HandoverListener::Accept(std::chrono::milliseconds timeout) {
  Status s = WaitReadable(fd_.get(), timeout, "successor");
  if (!s.ok()) return s;
  UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return Status::Unavailable(Errno("accept"));
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return Status::Internal(Errno("SO_PEERCRED"));
  if (cred.uid != ::geteuid())
    return Status::InvalidArgument(fmt::format("hand-over refused to pid {} of user {} (not ours)", cred.pid, cred.uid));
  return HandoverChannel(std::move(conn));
}

// ---------------------------------------------------------------- HandoverChannel

Result<HandoverChannel> HandoverChannel::Connect(const std::string& path) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return Status::Internal(Errno("socket"));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(sockaddr_un)) != 0)
    return Status::Unavailable(Errno("no hand-over offered at " + path));
  return HandoverChannel(std::move(fd));
}

Status HandoverChannel::Send(int lock_fd, int admin_fd, const std::vector<int>& http_fds) {
  std::vector<int> fds = {lock_fd};
  if (admin_fd >= 0) fds.push_back(admin_fd);
  fds.insert(fds.end(), http_fds.begin(), http_fds.end());
  if (fds.size() > kMaxFds) return Status::InvalidArgument(fmt::format("{} sockets are more than one hand-over carries ({})", fds.size(), kMaxFds));
  std::string head = fmt::format("tacc-handover 1 {} {}", http_fds.size(), admin_fd >= 0 ? 1 : 0);
  iovec iov{head.data(), head.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  if (::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL) < 0) return Status::Unavailable(Errno("sendmsg"));
  return Status::Ok();
}

Result<HandedSockets> HandoverChannel::Receive(std::chrono::milliseconds timeout) {
  Status s = WaitReadable(fd_.get(), timeout, "sockets from the stopping front end");
  if (!s.ok()) return s;
  char head[128];
  iovec iov{head, sizeof head - 1};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return Status::Unavailable(Errno("recvmsg"));
  // Own whatever arrived before judging it, so that nothing leaks on a bad message.
  std::vector<UniqueFd> got;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      got.emplace_back(fd);
    }
  }
  if (n == 0) return Status::Unavailable("the stopping front end closed the hand-over");
  if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) return Status::Protocol("hand-over message truncated");
  head[n] = '\0';
  unsigned version = 0, http = 0, admin = 0;
  if (std::sscanf(head, "tacc-handover %u %u %u", &version, &http, &admin) != 3 || version != 1 || admin > 1)
    return Status::Protocol(std::string("unexpected hand-over message: ") + head);
  if (got.size() != 1 + admin + http) return Status::Protocol(fmt::format("hand-over announced {} sockets but carried {}", 1 + admin + http, got.size()));
  HandedSockets out;
  size_t i = 0;
  out.lock = std::move(got[i++]);
  if (admin) out.admin = std::move(got[i++]);
  for (; i < got.size(); ++i) out.http.push_back(std::move(got[i]));
  return out;
}

Status HandoverChannel::Confirm() {
  if (::send(fd_.get(), kTaken.data(), kTaken.size(), MSG_NOSIGNAL) < 0) return Status::Unavailable(Errno("send"));
  return Status::Ok();
}

Status HandoverChannel::AwaitConfirm(std::chrono::milliseconds timeout) {
  Status s = WaitReadable(fd_.get(), timeout, "confirmation from the successor");
  if (!s.ok()) return s;
  char buf[16];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
  if (n < 0) return Status::Unavailable(Errno("recv"));
  if (std::string_view(buf, static_cast<size_t>(n)) != kTaken) return Status::Unavailable("the successor gave up before taking the sockets");
  return Status::Ok();
}

}  // namespace tacc::sns
