// The multi-host harness itself: hosts reach each other across the switch, the lab's
// counters move with real traffic, and nothing of a lab is left once it is gone.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <poll.h>

#include <thread>

#include "netns_lab.h"

namespace tacc::testing {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

#define REQUIRE_LAB()                                       \
  do {                                                      \
    std::string why;                                        \
    if (!NetnsLab::Available(&why)) GTEST_SKIP() << why;    \
  } while (0)

TEST(NetnsLabTest, HostsHaveTheirOwnAddressesAndReachEachOther) {
  REQUIRE_LAB();
  NetnsLab lab;
  auto& a = lab.AddHost("a");
  auto& b = lab.AddHost("b");
  EXPECT_NE(a.ip, b.ip);
  EXPECT_NE(a.mac, b.mac);
  EXPECT_NE(lab.MustExec(a, {"ip", "-o", "addr", "show", "dev", "eth0"}).find(a.ip + "/24"), std::string::npos);
  auto ping = lab.Exec(a, {"ping", "-c", "1", "-W", "2", b.ip});
  EXPECT_EQ(ping.exit_code, 0) << ping.output;
  // The host's neighbour table learnt b's MAC: frames really crossed the bridge.
  EXPECT_NE(lab.MustExec(a, {"ip", "neigh", "show", b.ip}).find(b.mac), std::string::npos);
}

TEST(NetnsLabTest, ThreadsInAHostOpenSocketsThereAndCountersSeeTheBytes) {
  REQUIRE_LAB();
  NetnsLab lab;
  auto& server = lab.AddHost("server");
  auto& client = lab.AddHost("client");
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  lab.RunIn(server, [&] { acceptor = std::make_unique<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address(server.ip), 7000)); });
  std::thread serve([&] {
    tcp::socket s = acceptor->accept();
    std::string buf(100000, 0);
    asio::read(s, asio::buffer(buf));
    asio::write(s, asio::buffer(std::string("ok")));
  });
  auto before = lab.InterfaceCounters(client);
  std::string reply(2, 0);
  lab.RunIn(client, [&] {
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect(tcp::endpoint(asio::ip::make_address(server.ip), 7000));
    asio::write(s, asio::buffer(std::string(100000, 'x')));
    asio::read(s, asio::buffer(reply));
  });
  serve.join();
  EXPECT_EQ(reply, "ok");
  auto after = lab.InterfaceCounters(client);
  EXPECT_GE(after.tx_bytes - before.tx_bytes, 100000u);
  // The same address from the machine's own namespace is not the lab's server. Something
  // else may answer there (the machine's default route may lead to a transparent proxy
  // that accepts any TCP connection), so the check is that the server's listener got
  // nothing, not that the connect failed.
  boost::system::error_code ec;
  asio::io_context rio;
  tcp::socket probe(rio);
  probe.open(tcp::v4());
  probe.non_blocking(true);
  probe.connect(tcp::endpoint(asio::ip::make_address(server.ip), 7000), ec);
  pollfd p{probe.native_handle(), POLLOUT, 0};
  poll(&p, 1, 1000);  // the connect's outcome, whatever it is (bounded)
  acceptor->non_blocking(true);
  acceptor->accept(ec);
  EXPECT_EQ(ec, asio::error::would_block) << "a lab address answered from outside the lab";
}

TEST(NetnsLabTest, ALabRemovesItsNamespacesAndProcesses) {
  REQUIRE_LAB();
  std::string ns;
  pid_t pid;
  {
    NetnsLab lab;
    auto& h = lab.AddHost("h");
    ns = h.ns;
    pid = lab.Spawn(h, {"sleep", "600"}, "/dev/null");
    EXPECT_EQ(kill(pid, 0), 0);
  }
  auto list = NetnsLab::ExecResult{};
  EXPECT_NE(kill(pid, 0), 0) << "a spawned process outlived its lab";
  FILE* f = popen("ip netns list", "r");
  char buf[4096];
  std::string out;
  while (size_t n = fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  pclose(f);
  EXPECT_EQ(out.find(ns), std::string::npos) << out;
}

}  // namespace
}  // namespace tacc::testing
