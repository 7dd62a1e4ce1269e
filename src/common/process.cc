#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <linux/close_range.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace tacc {

std::string SelfExePath() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("tacc") : p.string();
}

Result<pid_t> SpawnSelf(const std::vector<std::string>& args) {
  auto child = SpawnSelfWithHandle(args);
  if (!child.ok()) return child.status();
  CloseChild(*child);
  return child->pid;
}

bool SignalChild(const ChildProcess& child, int sig) {
  if (child.pidfd < 0) return false;
  return syscall(SYS_pidfd_send_signal, child.pidfd, sig, nullptr, 0) == 0;
}

void CloseChild(ChildProcess& child) {
  if (child.pidfd >= 0) close(child.pidfd);
  child.pidfd = -1;
}

std::vector<int> OpenFds() {
  std::vector<int> fds;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = std::atoi(e.path().filename().c_str());
    if (fcntl(fd, F_GETFD) != -1) fds.push_back(fd);
  }
  return fds;
}

Result<ChildProcess> SpawnSelfWithHandle(const std::vector<std::string>& args) {
  std::string exe = SelfExePath();
  std::vector<std::string> all;
  all.push_back(exe);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Read before fork: getenv is not async-signal-safe.
  const char* ll = std::getenv("TACC_LIFELINE_FD");
  int lifeline = ll ? std::atoi(ll) : -1;
  pid_t pid = fork();
  if (pid < 0) return Status::Internal(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // Child: default signals, no blocked mask, stdin from /dev/null.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE, SIGHUP}) signal(sig, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      dup2(devnull, 0);
      close(devnull);
    }
    // Nothing of the parent's but stdio and the lifeline survives the exec: a socket
    // left open in a child keeps a port bound (a restarted manager could not bind it)
    // or an SO_REUSEPORT listener alive that nobody accepts on.
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    if (lifeline >= 3) fcntl(lifeline, F_SETFD, 0);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) fcntl(pidfd, F_SETFD, FD_CLOEXEC);  // pidfd_open sets it; be explicit
  return ChildProcess{pid, pidfd};
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto rp = line.rfind(')');
  return rp == std::string::npos || rp + 2 >= line.size() || line[rp + 2] != 'Z';
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("open " + path + ": " + strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) return Status::Unavailable("lock " + path + " is held by another process");
    return Status::Internal("flock " + path + ": " + strerror(err));
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace tacc
