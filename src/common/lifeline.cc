#include "common/lifeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <memory>
#include <string>

namespace tacc {

namespace {
constexpr const char* kEnv = "TACC_LIFELINE_FD";

boost::asio::awaitable<void> WatchLoop(boost::asio::posix::stream_descriptor sd, std::function<void()> on_lost) {
  std::array<char, 64> buf;
  for (;;) {
    auto [ec, n] = co_await sd.async_read_some(boost::asio::buffer(buf), boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec == boost::asio::error::operation_aborted) co_return;
    if (ec) break;  // EOF: the root is gone
  }
  if (on_lost) on_lost();
}
}

Result<int> CreateLifeline() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe2 failed");
  // The read end must survive exec in children; the write end must not.
  int flags = fcntl(fds[0], F_GETFD);
  fcntl(fds[0], F_SETFD, flags & ~FD_CLOEXEC);
  setenv(kEnv, std::to_string(fds[0]).c_str(), 1);
  return fds[1];
}

bool WatchLifeline(boost::asio::io_context& ctx, std::function<void()> on_lost) {
  const char* v = std::getenv(kEnv);
  if (!v) return false;
  int fd = std::atoi(v);
  if (fd <= 2 || fcntl(fd, F_GETFD) == -1) return false;
  // Watch a duplicate (close-on-exec) so the inherited number stays valid for our own
  // children even though asio owns and closes this one.
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return false;
  boost::asio::co_spawn(ctx, WatchLoop(boost::asio::posix::stream_descriptor(ctx, dup_fd), std::move(on_lost)),
                        boost::asio::detached);
  return true;
}

}  // namespace tacc
