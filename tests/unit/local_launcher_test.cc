#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include "common/process.h"
#include "sns/launcher.h"

namespace tacc::sns {
namespace {

// The manager signals only what its launcher started: a pid from anywhere else (a
// registration message, a beacon) is refused, and the process lives on.
TEST(LocalLauncherTest, RefusesToSignalAProcessItDidNotStart) {
  boost::asio::io_context ctx;
  auto launcher = MakeLocalLauncher(ctx);
  pid_t stranger = fork();
  ASSERT_GE(stranger, 0);
  if (stranger == 0) {
    pause();
    _exit(0);
  }
  EXPECT_FALSE(launcher->Kill(stranger, SIGKILL));
  EXPECT_FALSE(launcher->Kill(getpid(), SIGTERM));
  EXPECT_FALSE(launcher->Kill(1, SIGTERM));
  usleep(100 * 1000);  // a signal that was sent would have ended it by now
  int status = 0;
  EXPECT_EQ(waitpid(stranger, &status, WNOHANG), 0) << "the stranger was signalled";
  kill(stranger, SIGKILL);
  waitpid(stranger, &status, 0);
}

TEST(ProcessTest, ChildHandleSignalsThroughItsPidfd) {
  // SpawnSelfWithHandle re-executes this test binary; ask it for something that waits.
  auto child = SpawnSelfWithHandle({"--gtest_filter=ProcessTest.SleepForever", "--gtest_also_run_disabled_tests"});
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  EXPECT_GE(child->pidfd, 0);
  EXPECT_TRUE(SignalChild(*child, SIGKILL));
  int status = 0;
  ASSERT_EQ(waitpid(child->pid, &status, 0), child->pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Reaped: the handle no longer reaches anything (no pid reuse accident possible).
  EXPECT_FALSE(SignalChild(*child, SIGKILL));
  CloseChild(*child);
}

TEST(ProcessTest, DISABLED_SleepForever) { pause(); }

}  // namespace
}  // namespace tacc::sns
