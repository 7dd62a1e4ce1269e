#include "sns/listener_handover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;

std::string SocketPath(const std::string& name) { return ::testing::TempDir() + "handover-" + std::to_string(getpid()) + "-" + name; }

// A listening TCP socket on loopback, any port.
int ListeningSocket() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd, 16), 0);
  return fd;
}

uint16_t PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(ListenerHandoverTest, PassesTheLockAndEverySocket) {
  std::string path = SocketPath("pass");
  {
  auto offer = HandoverListener::Open(path);
  ASSERT_TRUE(offer.ok()) << offer.status().ToString();
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_all, std::filesystem::perms::none);
  UniqueFd lock(::open("/dev/null", O_RDONLY | O_CLOEXEC)), admin(ListeningSocket()), h1(ListeningSocket()), h2(ListeningSocket());

  Result<HandedSockets> got = Status::Internal("not run");
  Status confirmed = Status::Internal("not run");
  std::thread successor([&] {
    auto ch = HandoverChannel::Connect(path);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    got = ch->Receive(5s);
    if (got.ok()) confirmed = ch->Confirm();
  });
  auto ch = offer->Accept(5s);
  ASSERT_TRUE(ch.ok()) << ch.status().ToString();
  ASSERT_TRUE(ch->Send(lock.get(), admin.get(), {h1.get(), h2.get()}).ok());
  EXPECT_TRUE(ch->AwaitConfirm(5s).ok());
  successor.join();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(confirmed.ok());
  ASSERT_TRUE(got->lock);
  ASSERT_TRUE(got->admin);
  ASSERT_EQ(got->http.size(), 2u);
  // The same sockets, in order, as new descriptors that close on exec.
  EXPECT_EQ(PortOf(got->admin.get()), PortOf(admin.get()));
  EXPECT_EQ(PortOf(got->http[0].get()), PortOf(h1.get()));
  EXPECT_EQ(PortOf(got->http[1].get()), PortOf(h2.get()));
  EXPECT_NE(got->http[0].get(), h1.get());
  EXPECT_TRUE(::fcntl(got->http[0].get(), F_GETFD) & FD_CLOEXEC);
  }
  EXPECT_FALSE(std::filesystem::exists(path)) << "the offer removes its socket file";
}

TEST(ListenerHandoverTest, ASuccessorThatGivesUpIsNoticed) {
  std::string path = SocketPath("giveup");
  auto offer = HandoverListener::Open(path);
  ASSERT_TRUE(offer.ok());
  UniqueFd lock(::open("/dev/null", O_RDONLY | O_CLOEXEC)), h(ListeningSocket());
  std::thread successor([&] {
    auto ch = HandoverChannel::Connect(path);
    ASSERT_TRUE(ch.ok());
    auto got = ch->Receive(5s);
    EXPECT_TRUE(got.ok());
    // ...and closes without confirming (say it failed to start).
  });
  auto ch = offer->Accept(5s);
  ASSERT_TRUE(ch.ok());
  ASSERT_TRUE(ch->Send(lock.get(), -1, {h.get()}).ok());
  successor.join();
  Status s = ch->AwaitConfirm(5s);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.kind(), ErrorKind::kTimeout) << "a closed channel is noticed at once";
}

TEST(ListenerHandoverTest, NoOfferNoConnectionAndNoSuccessorIsATimeout) {
  EXPECT_EQ(HandoverChannel::Connect(SocketPath("nobody")).status().kind(), ErrorKind::kUnavailable);
  auto offer = HandoverListener::Open(SocketPath("alone"));
  ASSERT_TRUE(offer.ok());
  EXPECT_EQ(offer->Accept(50ms).status().kind(), ErrorKind::kTimeout);
}

}  // namespace
}  // namespace tacc::sns
