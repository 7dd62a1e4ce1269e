// The dsr (L4/2, direct routing) data path across hosts: a client, a dispatcher and three
// front ends in network namespaces. The front ends hold the cluster address on their
// loopback (and answer no ARP for it); the dispatcher owns it on eth0, and its kernel
// program (DsrDatapath) sends each connection to a front end by MAC. Each front end runs
// a tiny server that answers "<its name>\n" and as many bytes as a request asks for.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "frontdoor/bpf/dsr_shared.h"
#include "frontdoor/dsr_datapath.h"
#include "frontdoor/neighbor_table.h"
#include "netns_lab.h"

namespace tacc::frontdoor {
namespace {

using tacc::testing::NetnsLab;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kVip[] = "10.0.0.100";
constexpr uint16_t kPort = 8080;
constexpr size_t kMegabyte = 1 << 20;

boost::asio::ip::address_v4 V4(const std::string& s) { return boost::asio::ip::make_address_v4(s); }

// Waits until pred() holds or `timeout` passes; whether it held.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A front end's server on the cluster address: each request is a line "<n>\n", each
// answer "<server name>\n" and n bytes. Connections stay open for more requests.
class NameServer {
 public:
  NameServer(NetnsLab& lab, const NetnsLab::Host& host) : name_(host.name) {
    lab.RunIn(host, [&] {  // the listening socket is the host's
      listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(kPort);
      inet_pton(AF_INET, kVip, &a.sin_addr);
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 128) != 0) {
        close(listen_fd_);
        listen_fd_ = -1;
      }
    });
    if (listen_fd_ < 0) throw std::runtime_error("cannot listen on the cluster address in " + name_);
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~NameServer() {
    uint64_t one = 1;
    (void)!write(stop_fd_, &one, sizeof one);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    close(listen_fd_);
    close(stop_fd_);
  }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }

 private:
  void AcceptLoop() {
    for (;;) {
      pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0 || (p[1].revents & POLLIN)) return;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      std::lock_guard lock(mu_);
      open_.insert(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[4096];
    for (bool open = true; open;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
      size_t nl;
      while (open && (nl = in.find('\n')) != std::string::npos) {
        size_t want = 0;
        if (std::from_chars(in.data(), in.data() + nl, want).ec != std::errc()) {  // not a request: hang up
          open = false;
          break;
        }
        in.erase(0, nl + 1);
        ++requests_;
        std::string out = name_ + "\n" + std::string(want, 'x');
        for (size_t sent = 0; sent < out.size();) {
          ssize_t w = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
          if (w <= 0) {
            open = false;
            break;
          }
          sent += static_cast<size_t>(w);
        }
      }
    }
    std::lock_guard lock(mu_);
    open_.erase(fd);
    close(fd);
  }

  std::string name_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::set<int> open_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// A connection from the client host to the cluster address.
class ClientConn {
 public:
  ~ClientConn() {
    if (fd_ >= 0) close(fd_);
  }
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  // Connects from local port `port` (0: any), within `timeout`; null with *error if not.
  static std::unique_ptr<ClientConn> Dial(NetnsLab& lab, const NetnsLab::Host& client, uint16_t port, std::chrono::milliseconds timeout,
                                          std::string* error) {
    std::unique_ptr<ClientConn> c(new ClientConn);
    lab.RunIn(client, [&] { c->fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); });
    int one = 1;
    setsockopt(c->fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    if (bind(c->fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      *error = std::string("bind: ") + strerror(errno);
      return nullptr;
    }
    sockaddr_in vip{};
    vip.sin_family = AF_INET;
    vip.sin_port = htons(kPort);
    inet_pton(AF_INET, kVip, &vip.sin_addr);
    if (connect(c->fd_, reinterpret_cast<sockaddr*>(&vip), sizeof vip) != 0 && errno != EINPROGRESS) {
      *error = std::string("connect: ") + strerror(errno);
      return nullptr;
    }
    pollfd p{c->fd_, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      *error = "connect: timed out";
      return nullptr;
    }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      *error = std::string("connect: ") + strerror(err);
      return nullptr;
    }
    sockaddr_in bound{};
    socklen_t blen = sizeof bound;
    getsockname(c->fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    c->port_ = ntohs(bound.sin_port);
    fcntl(c->fd_, F_SETFL, 0);  // blocking from here, bounded by timeouts
    timeval tv{5, 0};
    setsockopt(c->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return c;
  }

  // Asks for `body` bytes; the name of the server that answered, or "" and *error.
  std::string Request(size_t body, std::string* error) {
    std::string req = std::to_string(body) + "\n";
    if (send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      *error = std::string("send: ") + strerror(errno);
      return "";
    }
    std::string name;
    char ch;
    for (;;) {
      ssize_t n = recv(fd_, &ch, 1, 0);
      if (n <= 0) {
        *error = n == 0 ? "closed" : std::string("recv: ") + strerror(errno);
        return "";
      }
      if (ch == '\n') break;
      name += ch;
    }
    std::vector<char> buf(256 * 1024);
    for (size_t got = 0; got < body;) {
      ssize_t n = recv(fd_, buf.data(), std::min(buf.size(), body - got), 0);
      if (n <= 0) {
        *error = n == 0 ? "closed mid-body" : std::string("recv: ") + strerror(errno);
        return "";
      }
      got += static_cast<size_t>(n);
    }
    return name;
  }

  uint16_t port() const { return port_; }
  int fd() const { return fd_; }

 private:
  ClientConn() = default;
  int fd_ = -1;
  uint16_t port_ = 0;
};

class DsrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!NetnsLab::Available(&why)) GTEST_SKIP() << why;
    lab_ = std::make_unique<NetnsLab>();
    client_ = &lab_->AddHost("client");
    disp_ = &lab_->AddHost("disp");
    for (const char* name : {"fe1", "fe2", "fe3"}) fes_.push_back(&lab_->AddHost(name));
    // The dispatcher answers ARP for the cluster address; the front ends take packets
    // for it (loopback alias) but never claim it on the link.
    lab_->MustExec(*disp_, {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "eth0"});
    for (auto* fe : fes_) {
      lab_->MustExec(*fe, {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "lo"});
      lab_->MustExec(*fe, {"sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"});
      servers_.push_back(std::make_unique<NameServer>(*lab_, *fe));
    }
    // Where frames for each front end go, as the dispatcher learns it (ARP).
    lab_->RunIn(*disp_, [&] {
      for (auto* fe : fes_) {
        auto mac = ResolveNeighbor("eth0", V4(fe->ip), 3s);
        ASSERT_TRUE(mac.ok()) << mac.status().ToString();
        EXPECT_EQ(FormatMac(*mac), fe->mac);
        all_.push_back(DsrBackend{V4(fe->ip), *mac});
      }
    });
    ASSERT_EQ(all_.size(), fes_.size());
  }

  void TearDown() override {
    servers_.clear();
    lab_.reset();
  }

  std::unique_ptr<DsrDatapath> Attach(int syn_rate = 0, DsrDatapath::Hook hook = DsrDatapath::Hook::kAuto) {
    DsrDatapath::Options o;
    o.interface = "eth0";
    o.address = V4(kVip);
    o.port = kPort;
    o.syn_rate = syn_rate;
    o.max_connections = 4096;
    o.hook = hook;
    std::unique_ptr<DsrDatapath> dp;
    lab_->RunIn(*disp_, [&] {
      auto r = DsrDatapath::Attach(o);
      if (r.ok())
        dp = std::move(r.value());
      else
        ADD_FAILURE() << r.status().ToString();
    });
    return dp;
  }

  std::unique_ptr<ClientConn> Dial(uint16_t port = 0) {
    std::string error;
    auto c = ClientConn::Dial(*lab_, *client_, port, 3s, &error);
    if (!c) ADD_FAILURE() << "dial from port " << port << ": " << error;
    return c;
  }

  // The front end (index into fes_) a table sends a client port to.
  static size_t Expected(std::span<const uint32_t> slots, uint16_t port) {
    return slots[DsrDatapath::SlotOf(V4("10.0.0.10"), port, slots.size())];
  }

  // Round robin over the back ends: table[i] = i % n.
  static std::vector<uint32_t> RoundRobin(size_t n, size_t slots = 12) {
    std::vector<uint32_t> t(slots);
    for (size_t i = 0; i < slots; ++i) t[i] = static_cast<uint32_t>(i % n);
    return t;
  }

  std::unique_ptr<NetnsLab> lab_;
  const NetnsLab::Host* client_ = nullptr;
  const NetnsLab::Host* disp_ = nullptr;
  std::vector<const NetnsLab::Host*> fes_;
  std::vector<std::unique_ptr<NameServer>> servers_;
  std::vector<DsrBackend> all_;  // fe1, fe2, fe3
};

TEST(DsrHashTest, IsTheKernelsJhash2WordsOfAddressAndPort) {
  // Golden values of Linux's jhash_2words(addr, port, 0): the hash is an interface
  // (a standby computes the same choice), so it must never change by accident.
  EXPECT_EQ(dsr_hash(0x0a00000a, 40000), 0xacd06707u);
  EXPECT_EQ(dsr_hash(0, 0), 0x58c184bfu);
  EXPECT_EQ(dsr_hash(0xc0a80001, 443), 0x78d867d7u);
  EXPECT_EQ(DsrDatapath::SlotOf(V4("10.0.0.10"), 40000, 12), 0xacd06707u % 12);
}

TEST_F(DsrTest, SpreadsConnectionsOverEveryFrontEndAsTheSlotTableSays) {
  auto dp = Attach();
  ASSERT_TRUE(dp);
  auto table = RoundRobin(3);
  ASSERT_TRUE(dp->Update(all_, table).ok());
  std::map<std::string, int> served;
  for (uint16_t i = 0; i < 30; ++i) {
    auto c = Dial(static_cast<uint16_t>(40000 + i));
    ASSERT_TRUE(c);
    std::string error;
    std::string name = c->Request(1000, &error);
    ASSERT_FALSE(name.empty()) << error;
    EXPECT_EQ(name, fes_[Expected(table, c->port())]->name) << "client port " << c->port();
    ++served[name];
  }
  for (auto* fe : fes_) EXPECT_GE(served[fe->name], 1) << fe->name << " served nothing";
  auto st = dp->stats();
  EXPECT_EQ(st.new_connections, 30u);
  EXPECT_GE(st.redirected, 30u * 3);  // SYN, ACK, request at least
  EXPECT_EQ(st.dropped_no_backend, 0u);
}

TEST_F(DsrTest, RepliesGoStraightFromTheFrontEndsToTheClient) {
  auto dp = Attach();
  ASSERT_TRUE(dp);
  ASSERT_TRUE(dp->Update(all_, RoundRobin(3)).ok());
  auto disp_before = lab_->InterfaceCounters(*disp_);
  auto client_before = lab_->InterfaceCounters(*client_);
  constexpr int kConns = 30;
  for (int i = 0; i < kConns; ++i) {
    auto c = Dial();
    ASSERT_TRUE(c);
    std::string error;
    ASSERT_FALSE(c->Request(kMegabyte, &error).empty()) << error;
  }
  auto disp_after = lab_->InterfaceCounters(*disp_);
  auto client_after = lab_->InterfaceCounters(*client_);
  const uint64_t reply_bytes = kConns * kMegabyte;
  uint64_t through_dispatcher = disp_after.tx_bytes - disp_before.tx_bytes;
  EXPECT_GE(client_after.rx_bytes - client_before.rx_bytes, reply_bytes);
  // What the dispatcher sends on is the client's side only: SYNs, requests and ACKs.
  EXPECT_LT(through_dispatcher, reply_bytes / 10) << "the replies passed the dispatcher";
  for (auto& s : servers_) EXPECT_GE(s->accepted(), 1);
}

TEST_F(DsrTest, EstablishedConnectionsKeepTheirBackEndAndARemovedOneGetsNothing) {
  auto dp = Attach();
  ASSERT_TRUE(dp);
  auto table = RoundRobin(3);
  ASSERT_TRUE(dp->Update(all_, table).ok());
  auto held = Dial(40000);
  ASSERT_TRUE(held);
  std::string error;
  const size_t x = Expected(table, held->port());  // the held connection's front end
  ASSERT_EQ(held->Request(100, &error), fes_[x]->name) << error;
  const size_t y = (x + 1) % 3, z = (x + 2) % 3;

  // Every slot to y: new connections go there; the held one stays on x (draining).
  std::vector<uint32_t> all_y(12, static_cast<uint32_t>(y));
  ASSERT_TRUE(dp->Update(all_, all_y).ok());
  EXPECT_EQ(held->Request(100, &error), fes_[x]->name) << error;
  for (int i = 0; i < 5; ++i) {
    auto c = Dial();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->Request(100, &error), fes_[y]->name) << error;
  }

  // x leaves: the list is y and z (their indices into the new list are 0 and 1).
  std::vector<DsrBackend> without_x = {all_[y], all_[z]};
  ASSERT_TRUE(dp->Update(without_x, RoundRobin(2)).ok());
  const int x_accepted = servers_[x]->accepted();
  const int x_requests = servers_[x]->requests();
  auto x_before = lab_->InterfaceCounters(*fes_[x]);
  for (int i = 0; i < 12; ++i) {
    auto c = Dial();
    ASSERT_TRUE(c);
    std::string name = c->Request(100, &error);
    EXPECT_TRUE(name == fes_[y]->name || name == fes_[z]->name) << name << error;
  }
  // The held connection's packets go where the hash says now, to a front end that does
  // not know it: the client hears a reset at once instead of waiting out its timeouts.
  std::string big(200000, 'r');
  (void)!send(held->fd(), big.data(), big.size(), MSG_NOSIGNAL);
  EXPECT_TRUE(held->Request(100, &error).empty());
  EXPECT_EQ(servers_[x]->accepted(), x_accepted);
  EXPECT_EQ(servers_[x]->requests(), x_requests);
  // Not a frame of it reached x: only the link's broadcasts (ARP, ~60 bytes each) did.
  auto x_after = lab_->InterfaceCounters(*fes_[x]);
  EXPECT_LT(x_after.rx_bytes - x_before.rx_bytes, 1000u);
}

TEST_F(DsrTest, AFreshDatapathWithTheSameTableKeepsEstablishedConnections) {
  auto table = RoundRobin(3);
  std::vector<std::unique_ptr<ClientConn>> conns;
  std::vector<std::string> first;
  {
    auto dp = Attach();
    ASSERT_TRUE(dp);
    ASSERT_TRUE(dp->Update(all_, table).ok());
    for (int i = 0; i < 9; ++i) {
      conns.push_back(Dial());
      ASSERT_TRUE(conns.back());
      std::string error;
      first.push_back(conns.back()->Request(1000, &error));
      ASSERT_FALSE(first.back().empty()) << error;
    }
  }  // the dispatcher goes, and its connection map with it (the connections stay idle meanwhile)
  auto dp = Attach();
  ASSERT_TRUE(dp);
  ASSERT_TRUE(dp->Update(all_, table).ok());
  auto dump = dp->DumpConnections();
  ASSERT_TRUE(dump.ok());
  EXPECT_TRUE(dump->empty());
  for (size_t i = 0; i < conns.size(); ++i) {
    std::string error;
    EXPECT_EQ(conns[i]->Request(1000, &error), first[i]) << error;
  }
  EXPECT_GE(dp->stats().adopted, conns.size());  // every one came back by the hash alone
  EXPECT_EQ(dp->stats().new_connections, 0u);
}

TEST_F(DsrTest, ConnectionMapRoundTripsThroughDumpAndLoad) {
  auto table = RoundRobin(3);
  std::vector<std::unique_ptr<ClientConn>> conns;
  std::vector<DsrConnEntry> made;
  std::vector<DsrConnEntry> dumped;
  {
    auto dp = Attach();
    ASSERT_TRUE(dp);
    ASSERT_TRUE(dp->Update(all_, table).ok());
    for (int i = 0; i < 9; ++i) {
      conns.push_back(Dial());
      ASSERT_TRUE(conns.back());
      std::string error;
      ASSERT_FALSE(conns.back()->Request(10, &error).empty()) << error;
      made.push_back(DsrConnEntry{V4(client_->ip), conns.back()->port(), all_[Expected(table, conns.back()->port())].address});
    }
    auto dump = dp->DumpConnections();
    ASSERT_TRUE(dump.ok()) << dump.status().ToString();
    dumped = *dump;
  }
  auto by_port = [](std::vector<DsrConnEntry> v) {
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.client_port < b.client_port; });
    return v;
  };
  EXPECT_EQ(by_port(dumped), by_port(made));

  // A standby with another table (each slot moved on by one front end): only the loaded
  // map can send the connections where they live.
  auto dp = Attach();
  ASSERT_TRUE(dp);
  std::vector<uint32_t> shifted = table;
  for (auto& s : shifted) s = (s + 1) % 3;
  ASSERT_TRUE(dp->Update(all_, shifted).ok());
  std::vector<DsrConnEntry> with_unknown = dumped;
  with_unknown.push_back(DsrConnEntry{V4(client_->ip), 1234, V4("10.0.0.99")});  // not a back end: skipped
  auto loaded = dp->LoadConnections(with_unknown);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(*loaded, dumped.size());
  auto again = dp->DumpConnections();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(by_port(*again), by_port(dumped));
  for (auto& c : conns) {
    std::string error;
    EXPECT_EQ(c->Request(10, &error), fes_[Expected(table, c->port())]->name) << error;
  }
  EXPECT_EQ(dp->stats().adopted, 0u);
}

TEST_F(DsrTest, SynsOverTheRateAreDroppedAndCounted) {
  constexpr int kRate = 5;
  auto dp = Attach(kRate);
  ASSERT_TRUE(dp);
  ASSERT_TRUE(dp->Update(all_, RoundRobin(3)).ok());
  // 30 SYNs at once: a burst of kRate goes through, the rest are dropped (their
  // retransmissions come a second later, after this test has looked).
  constexpr int kAttempts = 30;
  std::vector<int> fds(kAttempts, -1);
  auto start = Clock::now();
  lab_->RunIn(*client_, [&] {
    for (int& fd : fds) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  });
  sockaddr_in vip{};
  vip.sin_family = AF_INET;
  vip.sin_port = htons(kPort);
  inet_pton(AF_INET, kVip, &vip.sin_addr);
  for (int fd : fds) (void)!connect(fd, reinterpret_cast<sockaddr*>(&vip), sizeof vip);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = dp->stats();
        return s.new_connections + s.dropped_syn_rate >= static_cast<uint64_t>(kAttempts);
      },
      2s));
  auto st = dp->stats();
  double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  // The burst, plus what the bucket refilled while we looked.
  EXPECT_GE(st.new_connections, static_cast<uint64_t>(kRate));
  EXPECT_LE(st.new_connections, static_cast<uint64_t>(kRate + kRate * elapsed_s + 1));
  EXPECT_GE(st.dropped_syn_rate, static_cast<uint64_t>(kAttempts) - st.new_connections);  // (a retransmitted SYN may add to either)
  for (int fd : fds) close(fd);
  // The limit can be lifted at run time.
  ASSERT_TRUE(dp->SetSynRate(0).ok());
  auto c = Dial();
  ASSERT_TRUE(c);
}

TEST_F(DsrTest, EachHookWorksAndDetachingLeavesTheInterfaceAsItWas) {
  for (auto hook : {DsrDatapath::Hook::kTcx, DsrDatapath::Hook::kClsact}) {
    SCOPED_TRACE(ToString(hook));
    std::string qdiscs_before = lab_->MustExec(*disp_, {"tc", "qdisc", "show", "dev", "eth0"});
    {
      auto dp = Attach(0, hook);
      ASSERT_TRUE(dp);
      EXPECT_EQ(dp->hook(), hook);
      ASSERT_TRUE(dp->Update(all_, RoundRobin(3)).ok());
      auto c = Dial();
      ASSERT_TRUE(c);
      std::string error;
      EXPECT_FALSE(c->Request(10, &error).empty()) << error;
      if (hook == DsrDatapath::Hook::kClsact) {
        EXPECT_NE(lab_->MustExec(*disp_, {"tc", "filter", "show", "dev", "eth0", "ingress"}).find("dsr_ingress"), std::string::npos);
      }
    }  // destroyed on this thread, outside the dispatcher's namespace
    EXPECT_EQ(lab_->MustExec(*disp_, {"tc", "qdisc", "show", "dev", "eth0"}), qdiscs_before);
    // Nothing forwards now: the dispatcher's own stack answers, and nobody listens there.
    std::string error;
    EXPECT_FALSE(ClientConn::Dial(*lab_, *client_, 0, 3s, &error));
    EXPECT_NE(error.find("refused"), std::string::npos) << error;
  }
}

TEST_F(DsrTest, RefusesWhatItCannotDo) {
  DsrDatapath::Options o;
  o.interface = "nosuch0";
  o.address = V4(kVip);
  o.port = kPort;
  lab_->RunIn(*disp_, [&] {
    auto r = DsrDatapath::Attach(o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kNotFound) << r.status().ToString();
    o.interface = "eth0";
    o.port = 0;
    EXPECT_EQ(DsrDatapath::Attach(o).status().kind(), ErrorKind::kInvalidArgument);
    // Nothing answers for an address nobody has: a bounded wait, then Timeout.
    auto mac = ResolveNeighbor("eth0", V4("10.0.0.99"), 300ms);
    EXPECT_EQ(mac.status().kind(), ErrorKind::kTimeout) << mac.status().ToString();
  });
  auto dp = Attach();
  ASSERT_TRUE(dp);
  std::vector<uint32_t> out_of_range = {0, 3};
  EXPECT_EQ(dp->Update(all_, out_of_range).kind(), ErrorKind::kInvalidArgument);
  std::vector<DsrBackend> twice = {all_[0], all_[0]};
  EXPECT_EQ(dp->Update(twice, RoundRobin(2)).kind(), ErrorKind::kInvalidArgument);
  // With no table, it drops (and counts) rather than guess.
  std::string error;
  EXPECT_FALSE(ClientConn::Dial(*lab_, *client_, 0, 300ms, &error));
  EXPECT_GE(dp->stats().dropped_no_backend, 1u);
}

}  // namespace
}  // namespace tacc::frontdoor
