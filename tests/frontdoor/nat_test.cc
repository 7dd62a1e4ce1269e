// NatDatapath across real hosts: a client, a dispatcher (the front ends' gateway, the VIP
// on its eth0) and three front ends, each a network namespace (NetnsLab). The datapath is
// made in the dispatcher's namespace; the front ends run a small HTTP server that answers
// with its own name, the peer it sees and its own address.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "frontdoor/nat_datapath.h"
#include "netns_lab.h"

namespace tacc::frontdoor {
namespace {

using tacc::testing::NetnsLab;
using Host = NetnsLab::Host;
using namespace std::chrono_literals;

constexpr const char* kVip = "10.0.0.100";
constexpr uint16_t kPort = 80;
constexpr uint16_t kOtherPort = 9000;

// ---- the front ends' server -------------------------------------------------------

// Answers every "GET ... \r\n\r\n" on a connection (keep-alive) with a body
// "<name> <peer ip:port> <local ip:port>\n", padded with '.' to body_size.
class NameServer {
 public:
  NameServer(NetnsLab& lab, const Host& host, uint16_t port, size_t body_size = 0) : name_(host.name), body_size_(body_size) {
    lab.RunIn(host, [&] {
      listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 256) != 0) {
        ADD_FAILURE() << host.name << ": cannot listen on port " << port << ": " << strerror(errno);
      }
    });
    wake_fd_ = eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { Loop(); });
  }
  ~NameServer() {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    thread_.join();
    close(listen_fd_);
    close(wake_fd_);
  }
  int accepted() const { return accepted_.load(); }
  struct Seen {
    std::string peer_ip;
    uint16_t peer_port = 0;
    std::string local_ip;
    uint16_t local_port = 0;
  };
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  static std::string Ip(const sockaddr_in& a) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return buf;
  }
  void Loop() {
    struct Conn {
      int fd;
      std::string in;
      std::string tag;  // "<peer> <local>"
    };
    std::vector<Conn> conns;
    for (;;) {
      std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (auto& c : conns) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) break;
      if (fds[1].revents & POLLIN) {
        sockaddr_in peer{}, local{};
        socklen_t len = sizeof peer;
        int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (fd >= 0) {
          len = sizeof local;
          getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
          Seen s{Ip(peer), ntohs(peer.sin_port), Ip(local), ntohs(local.sin_port)};
          {
            std::lock_guard lock(mu_);
            seen_.push_back(s);
          }
          ++accepted_;
          conns.push_back({fd, "", s.peer_ip + ":" + std::to_string(s.peer_port) + " " + s.local_ip + ":" + std::to_string(s.local_port)});
        }
      }
      std::vector<int> dead;
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        Conn& c = conns[i - 2];
        char buf[4096];
        ssize_t n = read(c.fd, buf, sizeof buf);
        if (n <= 0) {
          dead.push_back(c.fd);
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        for (size_t end; (end = c.in.find("\r\n\r\n")) != std::string::npos;) {
          c.in.erase(0, end + 4);
          std::string body = name_ + " " + c.tag + "\n";
          if (body.size() < body_size_) body.append(body_size_ - body.size(), '.');
          std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
          if (send(c.fd, reply.data(), reply.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(reply.size())) dead.push_back(c.fd);
        }
      }
      for (int fd : dead) {
        close(fd);
        std::erase_if(conns, [fd](const Conn& c) { return c.fd == fd; });
      }
    }
    for (auto& c : conns) close(c.fd);
  }

  const std::string name_;
  const size_t body_size_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<int> accepted_{0};
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

// ---- the client ---------------------------------------------------------------------

// A client connection: a socket made in the client's namespace, so it lives there
// whichever thread uses it.
class ClientConn {
 public:
  ClientConn(NetnsLab& lab, const Host& host, const std::string& source = "") {
    lab.RunIn(host, [&] { fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); });
    if (!source.empty()) {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      inet_pton(AF_INET, source.c_str(), &a.sin_addr);
      if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "bind " << source << ": " << strerror(errno);
    }
  }
  ~ClientConn() {
    if (fd_ >= 0) close(fd_);
  }
  ClientConn(const ClientConn&) = delete;
  ClientConn& operator=(const ClientConn&) = delete;

  // Starts the connect (non-blocking).
  void StartConnect(const std::string& ip, uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    int rc = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc == 0) connected_ = true;
    if (rc != 0 && errno != EINPROGRESS) error_ = errno;
  }
  // Waits for the connect to finish: 0 if connected, else the errno (ETIMEDOUT if not within `timeout`).
  int FinishConnect(std::chrono::milliseconds timeout) {
    if (connected_) return 0;
    if (error_) return error_;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return ETIMEDOUT;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      error_ = err;
      return err;
    }
    connected_ = true;
    return 0;
  }
  int Connect(const std::string& ip, uint16_t port, std::chrono::milliseconds timeout = 3s) {
    StartConnect(ip, port);
    return FinishConnect(timeout);
  }
  // Sends one request; false if the socket refused it.
  bool Send() {
    static const std::string kRequest = "GET / HTTP/1.1\r\nHost: vip\r\n\r\n";
    return send(fd_, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(kRequest.size());
  }
  // The body of the next answer, or nullopt (no whole answer within `timeout`, or an error).
  std::optional<std::string> Receive(std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string in;
    for (;;) {
      auto head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto cl = in.find("Content-Length: ");
        size_t length = cl == std::string::npos ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= head_end + 4 + length) return in.substr(head_end + 4, length);
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      in.append(buf, static_cast<size_t>(n));
    }
  }
  std::optional<std::string> Get(std::chrono::milliseconds timeout = 3s) {
    if (!Send()) return std::nullopt;
    return Receive(timeout);
  }
  // The front end that answered: the first word of the body ("fe2"); "" without an answer.
  std::string Who(std::chrono::milliseconds timeout = 3s) {
    auto body = Get(timeout);
    return body ? body->substr(0, body->find(' ')) : "";
  }
  std::string PeerIp() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getpeername(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return buf;
  }
  uint16_t LocalPort() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int error_ = 0;
};

// ---- the lab -----------------------------------------------------------------------

BackendSpec Spec(const Host& h) { return BackendSpec{h.ip, kPort, 1.0}; }

// Drops CAP_NET_ADMIN from the calling thread's effective set (threads have their own).
bool DropNetAdminInThisThread() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
  return syscall(SYS_capset, &header, data) == 0;
}

class NatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!NetnsLab::Available(&why)) GTEST_SKIP() << why;
    lab_ = std::make_unique<NetnsLab>();
    client_ = &lab_->AddHost("client");
    disp_ = &lab_->AddHost("disp");
    for (const char* name : {"fe1", "fe2", "fe3"}) fes_.push_back(&lab_->AddHost(name));
    MakeRouter(*disp_);
    lab_->MustExec(*disp_, {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "eth0"});
    for (const Host* fe : fes_) {
      // The dispatcher is the front ends' gateway to clients: their replies pass through
      // it and get the VIP back as their source.
      lab_->MustExec(*fe, {"ip", "route", "add", client_->ip + "/32", "via", disp_->ip});
      lab_->MustExec(*fe, {"ip", "route", "add", "10.0.0.192/26", "via", disp_->ip});  // the client's extra addresses
      servers_.push_back(std::make_unique<NameServer>(*lab_, *fe, kPort, BodySize()));
    }
  }
  void TearDown() override {
    servers_.clear();
    lab_.reset();
  }
  virtual size_t BodySize() const { return 0; }

  void MakeRouter(const Host& h) {
    lab_->MustExec(h, {"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"});
    lab_->MustExec(h, {"sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0"});
    lab_->MustExec(h, {"sysctl", "-q", "-w", "net.ipv4.conf.eth0.send_redirects=0"});
  }

  // The VIP moves from disp to `standby` (the client learns its MAC as from a gratuitous
  // ARP), and the front ends' route to the client goes through the standby.
  void Takeover(const Host& standby) {
    lab_->MustExec(*disp_, {"ip", "addr", "del", std::string(kVip) + "/32", "dev", "eth0"});
    lab_->MustExec(standby, {"ip", "addr", "add", std::string(kVip) + "/32", "dev", "eth0"});
    lab_->MustExec(*client_, {"ip", "neigh", "replace", kVip, "lladdr", standby.mac, "dev", "eth0", "nud", "permanent"});
    for (const Host* fe : fes_) lab_->MustExec(*fe, {"ip", "route", "replace", client_->ip + "/32", "via", standby.ip});
  }

  // Extra client addresses 10.0.0.200.. (hash_source needs more than one client address).
  std::vector<std::string> AddClientAddresses(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      out.push_back("10.0.0." + std::to_string(200 + i));
      lab_->MustExec(*client_, {"ip", "addr", "add", out.back() + "/32", "dev", "eth0"});
    }
    return out;
  }

  Result<std::unique_ptr<NatDatapath>> MakeDatapath(const Host& h, NatDatapath::Options options) {
    std::optional<Result<std::unique_ptr<NatDatapath>>> r;
    lab_->RunIn(h, [&] { r.emplace(NatDatapath::Create(std::move(options))); });
    return std::move(*r);
  }
  std::unique_ptr<NatDatapath> MustMakeDatapath(const Host& h, NatDatapath::Options options, std::vector<BackendSpec> backends,
                                                std::vector<uint32_t> slots) {
    auto r = MakeDatapath(h, std::move(options));
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      return nullptr;
    }
    Status s = (*r)->Update(backends, slots);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(r).value();
  }
  static NatDatapath::Options Defaults(NatChoice choice = NatChoice::kRoundRobin) {
    NatDatapath::Options o;
    o.name = "test";
    o.vip = kVip;
    o.port = kPort;
    o.choice = choice;
    return o;
  }
  std::vector<BackendSpec> AllFrontEnds() const {
    std::vector<BackendSpec> out;
    for (const Host* fe : fes_) out.push_back(Spec(*fe));
    return out;
  }
  std::string Tables(const Host& h) { return lab_->MustExec(h, {"nft", "list", "tables"}); }
  int Accepted(int fe) const { return servers_[fe]->accepted(); }

  std::unique_ptr<NetnsLab> lab_;
  const Host* client_ = nullptr;
  const Host* disp_ = nullptr;
  std::vector<const Host*> fes_;
  std::vector<std::unique_ptr<NameServer>> servers_;
};

// (a) every front end serves; the client talks to the VIP; the front end sees the client
// itself (LSNAT: only the destination is rewritten on the way in, only the source on the
// way out); per-back-end counts; (f) nothing left once the datapath is gone.
class NatChoiceTest : public NatTest, public ::testing::WithParamInterface<NatChoice> {};

TEST_P(NatChoiceTest, EveryFrontEndServesAndTheClientSeesTheVip) {
  const NatChoice choice = GetParam();
  const auto sources = AddClientAddresses(20);
  // Round robin walks the slot table, so the table's weights show exactly: fe1 owns 3 of 5 slots.
  const bool weighted = choice == NatChoice::kRoundRobin;
  std::vector<uint32_t> slots = weighted ? std::vector<uint32_t>{0, 0, 1, 0, 2} : std::vector<uint32_t>{0, 1, 2};
  auto dp = MustMakeDatapath(*disp_, Defaults(choice), AllFrontEnds(), slots);
  ASSERT_TRUE(dp);
  EXPECT_NE(Tables(*disp_).find("table ip tacc_test"), std::string::npos);

  constexpr int kConnections = 30;
  std::map<std::string, int> served;
  std::map<std::string, std::set<std::string>> by_source;  // client address -> front ends it reached
  for (int i = 0; i < kConnections; ++i) {
    const std::string& source = sources[i % sources.size()];
    ClientConn c(*lab_, *client_, source);
    ASSERT_EQ(c.Connect(kVip, kPort), 0) << "connection " << i;
    EXPECT_EQ(c.PeerIp(), kVip);
    auto body = c.Get();
    ASSERT_TRUE(body) << "connection " << i << " got no answer";
    std::string who = body->substr(0, body->find(' '));
    ++served[who];
    by_source[source].insert(who);
    // "<fe> <peer> <local>": the front end saw the client's own address and port, and its own address.
    std::string expect_peer = source + ":" + std::to_string(c.LocalPort());
    EXPECT_NE(body->find(" " + expect_peer + " "), std::string::npos) << *body;
    EXPECT_NE(body->find(" " + lab_->host(who).ip + ":" + std::to_string(kPort)), std::string::npos) << *body;
  }
  for (const Host* fe : fes_) EXPECT_GE(served[fe->name], 1) << fe->name << " served none of " << kConnections;
  if (weighted) {
    EXPECT_EQ(served["fe1"], 18);
    EXPECT_EQ(served["fe2"], 6);
    EXPECT_EQ(served["fe3"], 6);
  }
  if (choice == NatChoice::kHashSource) {
    for (auto& [source, fes] : by_source) EXPECT_EQ(fes.size(), 1u) << source << " was spread over " << fes.size() << " front ends";
  }

  auto stats = dp->ReadStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->backends.size(), 3u);
  uint64_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(stats->backends[i].id, Spec(*fes_[i]).Id());
    EXPECT_TRUE(stats->backends[i].current);
    EXPECT_EQ(stats->backends[i].new_connections, static_cast<uint64_t>(served[fes_[i]->name])) << stats->backends[i].id;
    total += stats->backends[i].new_connections;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(stats->syn_dropped, 0u);
  EXPECT_EQ(stats->no_backend, 0u);

  dp.reset();
  EXPECT_EQ(Tables(*disp_).find("tacc_"), std::string::npos) << Tables(*disp_);
}

INSTANTIATE_TEST_SUITE_P(Nat, NatChoiceTest,
                         ::testing::Values(NatChoice::kHash5Tuple, NatChoice::kHashSource, NatChoice::kRoundRobin, NatChoice::kRandom),
                         [](const ::testing::TestParamInfo<NatChoice>& info) { return std::string(ToString(info.param)); });

// (b) a back end leaves: no new connection goes to it, established ones to the others go
// on; its own established ones are cut (drain off) or go on (drain on); it comes back.
class NatDrainTest : public NatTest, public ::testing::WithParamInterface<bool> {};

TEST_P(NatDrainTest, UpdateRemovingABackEnd) {
  const bool drain = GetParam();
  auto options = Defaults(NatChoice::kRoundRobin);
  options.drain = drain;
  auto dp = MustMakeDatapath(*disp_, options, AllFrontEnds(), {0, 1, 2});
  ASSERT_TRUE(dp);

  std::vector<std::unique_ptr<ClientConn>> open;
  std::vector<std::string> first;
  for (int i = 0; i < 6; ++i) {
    open.push_back(std::make_unique<ClientConn>(*lab_, *client_));
    ASSERT_EQ(open.back()->Connect(kVip, kPort), 0);
    first.push_back(open.back()->Who());
  }
  EXPECT_EQ(std::count(first.begin(), first.end(), "fe3"), 2);

  ASSERT_TRUE(dp->Update(std::vector<BackendSpec>{Spec(*fes_[0]), Spec(*fes_[1])}, std::vector<uint32_t>{0, 1}).ok());
  int fe3_before = Accepted(2);
  std::map<std::string, int> served;
  for (int i = 0; i < 20; ++i) {
    ClientConn c(*lab_, *client_);
    ASSERT_EQ(c.Connect(kVip, kPort), 0);
    ++served[c.Who()];
  }
  EXPECT_EQ(Accepted(2), fe3_before) << "a new connection reached the removed back end";
  EXPECT_EQ(served["fe1"], 10);
  EXPECT_EQ(served["fe2"], 10);

  for (size_t i = 0; i < open.size(); ++i) {
    if (first[i] != "fe3") {
      EXPECT_EQ(open[i]->Who(), first[i]) << "an established connection to " << first[i] << " broke";
    } else if (drain) {
      EXPECT_EQ(open[i]->Who(), "fe3") << "drain: an established connection to the removed back end broke";
    } else {
      EXPECT_EQ(open[i]->Who(1s), "") << "an established connection still reaches a back end that is not current";
    }
  }
  auto stats = dp->ReadStats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->backends.size(), 3u);
  EXPECT_EQ(stats->backends[2].id, Spec(*fes_[2]).Id());
  EXPECT_FALSE(stats->backends[2].current);
  EXPECT_EQ(stats->backends[2].new_connections, 2u);
  EXPECT_EQ(stats->backends[0].new_connections, 12u);  // counts survive the Update
  if (drain) {
    EXPECT_EQ(stats->cut, 0u);
  } else {
    EXPECT_GE(stats->cut, 1u);
  }

  // It comes back: new connections reach it again, and its count goes on from 2.
  ASSERT_TRUE(dp->Update(AllFrontEnds(), std::vector<uint32_t>{0, 1, 2}).ok());
  served.clear();
  for (int i = 0; i < 6; ++i) {
    ClientConn c(*lab_, *client_);
    ASSERT_EQ(c.Connect(kVip, kPort), 0);
    ++served[c.Who()];
  }
  EXPECT_EQ(served["fe3"], 2);
  stats = dp->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_TRUE(stats->backends[2].current);
  EXPECT_EQ(stats->backends[2].new_connections, 4u);
}

INSTANTIATE_TEST_SUITE_P(Nat, NatDrainTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) { return std::string(info.param ? "Drain" : "Cut"); });

// Updates replace the rules in one transaction: connections made while the table is
// rewritten over and over all get through.
TEST_F(NatTest, UpdatesUnderTrafficLoseNoConnection) {
  auto dp = MustMakeDatapath(*disp_, Defaults(NatChoice::kHash5Tuple), AllFrontEnds(), {0, 1, 2});
  ASSERT_TRUE(dp);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex why_mu;
  std::string why;
  std::thread traffic([&] {
    while (!stop) {
      ClientConn c(*lab_, *client_);
      // A connection is lost if it never gets an answer; one whose SYN the kernel had to
      // send again (1 s, then 3 s) is slow, not lost: 5 s covers two retransmissions,
      // which a sanitized build on a loaded machine needed once (2026-12-02 CI).
      int err = c.Connect(kVip, kPort, 5s);
      std::string who = err == 0 ? c.Who(5s) : "";
      if (!who.empty()) {
        ++ok;
      } else {
        ++failed;
        std::lock_guard l(why_mu);
        why += err ? fmt::format(" connect: {};", strerror(err)) : std::string(" connected, no answer;");
      }
    }
  });
  const std::vector<std::vector<uint32_t>> tables = {{0, 1, 2}, {2, 1, 0, 0}, {1}, {0, 2}};
  for (int i = 0; i < 40; ++i) {
    Status s = dp->Update(AllFrontEnds(), tables[i % tables.size()]);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::this_thread::sleep_for(10ms);  // pacing the updates, not waiting for anything
  }
  while (ok + failed < 20) std::this_thread::sleep_for(10ms);
  stop = true;
  traffic.join();
  EXPECT_EQ(failed, 0) << ok << " connections got through; the others:" << why;
}

// A Maglev-sized slot table (65537 slots, weights 2:1:1) installs in well under a second
// and reading the counters stays cheap with it.
TEST_F(NatTest, ALargeSlotTable) {
  std::vector<uint32_t> slots(65537);
  for (size_t i = 0; i < slots.size(); ++i) slots[i] = static_cast<uint32_t>((i * 7919) % 4 == 3 ? 2 : (i * 7919) % 4 == 2 ? 1 : 0);
  auto dp = MustMakeDatapath(*disp_, Defaults(NatChoice::kHash5Tuple), AllFrontEnds(), {0, 1, 2});
  ASSERT_TRUE(dp);
  auto start = std::chrono::steady_clock::now();
  Status s = dp->Update(AllFrontEnds(), slots);
  auto update_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(update_ms, 3000);
  start = std::chrono::steady_clock::now();
  auto stats = dp->ReadStats();
  auto stats_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(stats.ok());
  EXPECT_LT(stats_ms, 50);
  std::map<std::string, int> served;
  for (int i = 0; i < 40; ++i) {
    ClientConn c(*lab_, *client_);
    ASSERT_EQ(c.Connect(kVip, kPort), 0);
    ++served[c.Who()];
  }
  for (const Host* fe : fes_) EXPECT_GE(served[fe->name], 1) << fe->name;
  RecordProperty("update_ms", static_cast<int>(update_ms));
  RecordProperty("stats_ms", static_cast<int>(stats_ms));
  std::printf("65537-slot Update: %lld ms; ReadStats: %lld ms\n", static_cast<long long>(update_ms), static_cast<long long>(stats_ms));
}

// (c) only VIP:port is dispatched; other ports of the VIP are this host's (refused here),
// never forwarded; with no back end, VIP:port is refused too.
TEST_F(NatTest, OtherPortsAndNoBackEndAreNotForwarded) {
  std::vector<std::unique_ptr<NameServer>> other;
  for (const Host* fe : fes_) other.push_back(std::make_unique<NameServer>(*lab_, *fe, kOtherPort));
  auto r = MakeDatapath(*disp_, Defaults());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto& dp = *r;

  {  // no back end yet
    ClientConn c(*lab_, *client_);
    EXPECT_EQ(c.Connect(kVip, kPort), ECONNREFUSED);
  }
  ASSERT_TRUE(dp->Update(AllFrontEnds(), std::vector<uint32_t>{0, 1, 2}).ok());
  {
    ClientConn c(*lab_, *client_);
    EXPECT_EQ(c.Connect(kVip, kOtherPort), ECONNREFUSED);
  }
  {  // the dispatched port works meanwhile
    ClientConn c(*lab_, *client_);
    ASSERT_EQ(c.Connect(kVip, kPort), 0);
    EXPECT_FALSE(c.Who().empty());
  }
  for (auto& s : other) EXPECT_EQ(s->accepted(), 0);
  auto stats = dp->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->no_backend, 1u);
  EXPECT_EQ(stats->stray, 0u);
  other.clear();
}

// (d) SYNs over syn_rate are dropped and counted; the client's connects over the rate wait
// for their SYN to be retransmitted (a second and more).
TEST_F(NatTest, SynRateDropsTheExcess) {
  auto options = Defaults();
  options.syn_rate = 5;  // burst: 5
  auto dp = MustMakeDatapath(*disp_, options, AllFrontEnds(), {0, 1, 2});
  ASSERT_TRUE(dp);
  constexpr int kAttempts = 30;
  std::vector<std::unique_ptr<ClientConn>> conns;
  for (int i = 0; i < kAttempts; ++i) conns.push_back(std::make_unique<ClientConn>(*lab_, *client_));
  auto start = std::chrono::steady_clock::now();
  for (auto& c : conns) c->StartConnect(kVip, kPort);
  int connected = 0;
  for (auto& c : conns) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + 700ms - std::chrono::steady_clock::now());
    if (c->FinishConnect(std::max(left, 0ms)) == 0) ++connected;
  }
  // The bucket lets rate + burst through at once, then 5/s: at most ~14 in 0.7 s.
  EXPECT_GE(connected, 1);
  EXPECT_LE(connected, 15);
  auto stats = dp->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->syn_dropped, static_cast<uint64_t>(kAttempts - 15));
  uint64_t forwarded = 0;
  for (auto& b : stats->backends) forwarded += b.new_connections;
  EXPECT_EQ(forwarded, static_cast<uint64_t>(connected));
}

// (e) Connections() lists what conntrack NATs, with the back ends; a standby dispatcher
// that Restore()s them carries them on after it takes the VIP: from its peer's list,
// before the takeover (Magicrouter's replicated map), or from what the front ends know,
// after it (LSNAT's rebuild). The standby chooses round robin, so a connection it was not
// told is dropped (Midstream::kAuto), never sent to a front end that does not know it.
class NatRestoreTest : public NatTest {
 protected:
  // Answers of 256 KB: the standby's conntrack, which saw no handshake, must let many
  // full windows through.
  size_t BodySize() const override { return 256 * 1024; }

  // disp (active: round robin over the three) and disp2 (standby: new connections to fe1
  // only; fe2 and fe3 stay current back ends); six connections through disp.
  void SetUpPair() {
    disp2_ = &lab_->AddHost("disp2");
    MakeRouter(*disp2_);
    active_ = MustMakeDatapath(*disp_, Defaults(), AllFrontEnds(), {0, 1, 2});
    standby_ = MustMakeDatapath(*disp2_, Defaults(), AllFrontEnds(), {0});
    ASSERT_TRUE(active_ && standby_);
    for (int i = 0; i < 6; ++i) {
      open_.push_back(std::make_unique<ClientConn>(*lab_, *client_));
      ASSERT_EQ(open_.back()->Connect(kVip, kPort), 0);
      who_.push_back(open_.back()->Who());
      ASSERT_FALSE(who_.back().empty());
    }
  }
  size_t First(const std::string& fe) const { return std::find(who_.begin(), who_.end(), fe) - who_.begin(); }
  void EraseConn(std::vector<NatConn>& list, size_t i) {
    std::erase_if(list, [&](const NatConn& c) { return c.client_port == open_[i]->LocalPort(); });
  }

  const Host* disp2_ = nullptr;
  std::unique_ptr<NatDatapath> active_, standby_;
  std::vector<std::unique_ptr<ClientConn>> open_;
  std::vector<std::string> who_;
};

TEST_F(NatRestoreTest, ReplicatedMapBeforeTakeover) {
  SetUpPair();
  auto listed = active_->Connections();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 6u);
  for (size_t i = 0; i < open_.size(); ++i) {
    auto it = std::find_if(listed->begin(), listed->end(), [&](const NatConn& c) { return c.client_port == open_[i]->LocalPort(); });
    ASSERT_NE(it, listed->end()) << "connection " << i << " not listed";
    EXPECT_EQ(it->client, client_->ip);
    EXPECT_EQ(it->backend, lab_->host(who_[i]).ip);
    EXPECT_EQ(it->backend_port, kPort);
    EXPECT_GT(it->client_wscale, 0) << "Linux announces a window scale; conntrack saw it";
    EXPECT_GT(it->timeout_s, 0u);
  }

  // One connection to fe2 is left out, and one entry names an address that is no back end.
  std::vector<NatConn> to_restore = *listed;
  const size_t left_out = First("fe2");
  EraseConn(to_restore, left_out);
  to_restore.push_back(NatConn{client_->ip, 40000, "10.0.0.99", kPort});
  auto restored = standby_->Restore(to_restore);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->created, 5u);
  EXPECT_EQ(restored->replaced, 0u);
  EXPECT_EQ(restored->skipped, 1u);
  auto on_standby = standby_->Connections();
  ASSERT_TRUE(on_standby.ok());
  EXPECT_EQ(on_standby->size(), 5u);

  // The same list again changes nothing; an entry with another back end is replaced.
  restored = standby_->Restore(to_restore);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->unchanged, 5u);
  EXPECT_EQ(restored->created + restored->replaced, 0u);
  const size_t to_fe3 = First("fe3");
  auto entry =
      std::find_if(to_restore.begin(), to_restore.end(), [&](const NatConn& c) { return c.client_port == open_[to_fe3]->LocalPort(); });
  ASSERT_NE(entry, to_restore.end());
  NatConn moved = *entry;
  moved.backend = fes_[0]->ip;
  restored = standby_->Restore(std::span<const NatConn>(&moved, 1));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->replaced, 1u);
  // Mirror: the standby ends up with exactly the list, here without that connection.
  EraseConn(to_restore, to_fe3);
  restored = standby_->Restore(to_restore, NatDatapath::RestoreMode::kMirror);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->unchanged, 4u);
  EXPECT_EQ(restored->removed, 1u);
  on_standby = standby_->Connections();
  ASSERT_TRUE(on_standby.ok());
  EXPECT_EQ(on_standby->size(), 4u);

  Takeover(*disp2_);
  for (size_t i = 0; i < open_.size(); ++i) {
    if (i == left_out || i == to_fe3) {
      EXPECT_EQ(open_[i]->Who(1s), "") << "a connection the standby was not told reached " << who_[i];
    } else {
      EXPECT_EQ(open_[i]->Who(), who_[i]) << "restored connection " << i << " did not survive the takeover";
    }
  }
  auto stats = standby_->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->midstream, 2u);
  {  // new connections: the standby's own choice
    ClientConn c(*lab_, *client_);
    ASSERT_EQ(c.Connect(kVip, kPort), 0);
    EXPECT_EQ(c.Who(), "fe1");
  }
}

// The front ends' own view of their connections (peer and local address of each
// accepted socket) rebuilds the map after the takeover: requests sent in between wait in
// the client's retransmissions and are answered once Restore() is done.
TEST_F(NatRestoreTest, RebuiltFromFrontEndsAfterTakeover) {
  SetUpPair();
  Takeover(*disp2_);
  for (auto& c : open_) ASSERT_TRUE(c->Send());
  auto stats = standby_->ReadStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->midstream, 6u) << "mid-stream packets before the rebuild were not held back";

  std::vector<NatConn> from_front_ends;
  for (size_t i = 0; i < fes_.size(); ++i) {
    for (const auto& s : servers_[i]->seen()) from_front_ends.push_back(NatConn{s.peer_ip, s.peer_port, s.local_ip, s.local_port});
  }
  ASSERT_EQ(from_front_ends.size(), 6u);
  const size_t left_out = First("fe3");
  EraseConn(from_front_ends, left_out);
  auto restored = standby_->Restore(from_front_ends);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->created, 5u);
  for (size_t i = 0; i < open_.size(); ++i) {
    auto body = open_[i]->Receive(i == left_out ? 1s : 10s);
    std::string who = body ? body->substr(0, body->find(' ')) : "";
    if (i == left_out) {
      EXPECT_EQ(who, "") << "a connection the standby was not told reached " << who_[i];
    } else {
      EXPECT_EQ(who, who_[i]) << "connection " << i << " was not carried on after the rebuild";
      EXPECT_EQ(body ? body->size() : 0, BodySize());
    }
  }
}

// Stateless failover (ONE-IP): a standby with the same hash seed and slot table, told
// nothing, picks the established connections up mid-stream and sends them to the back
// ends the active one chose.
TEST_F(NatRestoreTest, StatelessWithTheSameHashNeedsNoRestore) {
  const Host& disp2 = lab_->AddHost("disp2");
  MakeRouter(disp2);
  auto active = MustMakeDatapath(*disp_, Defaults(NatChoice::kHash5Tuple), AllFrontEnds(), {0, 1, 2, 1, 0, 2, 2});
  auto standby = MustMakeDatapath(disp2, Defaults(NatChoice::kHash5Tuple), AllFrontEnds(), {0, 1, 2, 1, 0, 2, 2});
  ASSERT_TRUE(active && standby);
  std::vector<std::unique_ptr<ClientConn>> open;
  std::vector<std::string> who;
  for (int i = 0; i < 12; ++i) {
    open.push_back(std::make_unique<ClientConn>(*lab_, *client_));
    ASSERT_EQ(open.back()->Connect(kVip, kPort), 0);
    who.push_back(open.back()->Who());
  }
  Takeover(disp2);
  for (size_t i = 0; i < open.size(); ++i) EXPECT_EQ(open[i]->Who(), who[i]) << "connection " << i;
  auto picked_up = standby->Connections();
  ASSERT_TRUE(picked_up.ok());
  EXPECT_EQ(picked_up->size(), open.size());
}

// Clear errors, and a failed Update changes nothing.
TEST_F(NatTest, ErrorsNameWhatFailed) {
  auto with_vip = [&](std::string vip) {
    auto o = Defaults();
    o.vip = std::move(vip);
    return o;
  };
  for (const char* bad : {"10.0.0.300", "vip", "10.0.0.100 accept; delete table ip x", "::1", "0.0.0.0", "224.0.0.1"}) {
    auto r = MakeDatapath(*disp_, with_vip(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("VIP"), std::string::npos) << r.status().ToString();
  }
  {
    auto o = Defaults();
    o.interface = "eth0\"; drop";
    EXPECT_EQ(MakeDatapath(*disp_, o).status().kind(), ErrorKind::kInvalidArgument);
  }
  {  // not a router
    auto r = MakeDatapath(*fes_[0], Defaults());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kUnavailable);
    EXPECT_NE(r.status().message().find("ip_forward"), std::string::npos) << r.status().ToString();
  }
  {  // no CAP_NET_ADMIN: nft's own words
    std::optional<Result<std::unique_ptr<NatDatapath>>> r;
    lab_->RunIn(*disp_, [&] {
      ASSERT_TRUE(DropNetAdminInThisThread());
      r.emplace(NatDatapath::Create(Defaults()));
    });
    ASSERT_TRUE(r && !r->ok());
    EXPECT_EQ(r->status().kind(), ErrorKind::kForbidden) << r->status().ToString();
    EXPECT_NE(r->status().message().find("Operation not permitted"), std::string::npos) << r->status().ToString();
  }
  EXPECT_EQ(Tables(*disp_).find("tacc_"), std::string::npos);

  auto dp = MustMakeDatapath(*disp_, Defaults(), AllFrontEnds(), {0, 1, 2});
  ASSERT_TRUE(dp);
  std::string before = lab_->MustExec(*disp_, {"nft", "list", "table", "ip", "tacc_test"});
  Status s = dp->Update(std::vector<BackendSpec>{BackendSpec{"::1", 80, 1}}, std::vector<uint32_t>{0});
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument) << s.ToString();
  s = dp->Update(AllFrontEnds(), std::vector<uint32_t>{0, 3});
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument) << s.ToString();
  EXPECT_EQ(lab_->MustExec(*disp_, {"nft", "list", "table", "ip", "tacc_test"}), before);
  ClientConn c(*lab_, *client_);
  ASSERT_EQ(c.Connect(kVip, kPort), 0);
  EXPECT_FALSE(c.Who().empty());
  dp.reset();

  // A table left by a dispatcher that died is replaced whole.
  lab_->MustExec(*disp_, {"nft", "add", "table", "ip", "tacc_test"});
  lab_->MustExec(*disp_, {"nft", "add", "chain", "ip", "tacc_test", "leftover"});
  auto again = MakeDatapath(*disp_, Defaults());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string table = lab_->MustExec(*disp_, {"nft", "list", "table", "ip", "tacc_test"});
  EXPECT_EQ(table.find("leftover"), std::string::npos) << table;
  EXPECT_NE(table.find("chain dispatch"), std::string::npos) << table;
}

TEST(NatChoiceNames, RoundTrip) {
  for (auto c : {NatChoice::kHash5Tuple, NatChoice::kHashSource, NatChoice::kRoundRobin, NatChoice::kRandom}) {
    auto parsed = ParseNatChoice(ToString(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_FALSE(ParseNatChoice("maglev").ok());
}

}  // namespace
}  // namespace tacc::frontdoor
