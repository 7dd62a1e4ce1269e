// `tacc dispatch` in l7 mode across hosts: every request is parsed and routed by its
// content (LARD, bounded-load hashing), requests of one keep-alive connection are routed
// one by one, and malformed or ambiguous requests get what a front end itself would
// answer, so nothing can be smuggled through the dispatcher.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

#include "lab_cluster.h"

namespace tacc::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Raw bytes to ip:port from inside `from`; everything that comes back until the peer
// closes or `timeout`.
std::string Raw(NetnsLab& lab, const NetnsLab::Host& from, const std::string& ip, int port, const std::string& bytes,
                std::chrono::milliseconds timeout = 3s) {
  std::string out;
  lab.RunIn(from, [&] {
    TimedConnection c(ip, port, timeout);
    if (c.Send(bytes, timeout)) c.ReadToEnd(&out, timeout);
  });
  return out;
}

int StatusOf(const std::string& raw) { return raw.size() >= 12 && raw.compare(0, 5, "HTTP/") == 0 ? std::stoi(raw.substr(9, 3)) : 0; }

// Several GETs on ONE connection, each answer read whole (Content-Length) before the
// next is sent; the hosts that answered, in order ("" for a request that failed).
std::vector<std::string> KeepAliveWhoAmI(NetnsLab& lab, const NetnsLab::Host& from, const std::string& ip, int port,
                                         const std::vector<std::string>& targets, int* connections_used) {
  std::vector<std::string> hosts;
  *connections_used = 0;
  lab.RunIn(from, [&] {
    TimedConnection c(ip, port, 3s);
    if (!c.ok()) return;
    *connections_used = 1;
    for (auto& t : targets) {
      std::optional<std::string> body;
      if (c.Send("GET " + t + " HTTP/1.1\r\nHost: lab\r\n\r\n", 3s)) body = c.ReadAnswerBody(3s);
      hosts.push_back(body ? WhoAmIHost(*body) : "");
    }
  });
  return hosts;
}

class L7Test : public LabClusterTest {
 protected:
  L7Test() : LabClusterTest(1, 3) {}
  void StartCluster(const std::string& policy) {
    cluster_->StartManager(*mgr_);
    for (size_t i = 0; i < fes_.size(); ++i) cluster_->StartFrontend(*fes_[i], static_cast<int>(i));
    cluster_->StartDispatcher(*disp_, {"frontdoor.mode=l7", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.policy=" + policy});
    WaitUntilEveryFrontEndJoined();
  }
  // The dispatcher's log says every front end (port 8080) joined its rotation.
  void WaitUntilEveryFrontEndJoined() {
    auto deadline = Clock::now() + 20s;
    auto joined = [&] {
      auto log = cluster_->Log();
      for (auto* fe : fes_)
        if (log.find("back end " + fe->ip + ":8080 joined") == std::string::npos) return false;
      return true;
    };
    while (Clock::now() < deadline && !joined()) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(joined()) << cluster_->Log();
  }
};

TEST_F(L7Test, LardSendsEachTargetToTheFrontEndThatServedItBefore) {
  StartCluster("lard");
  std::map<std::string, std::set<std::string>> served_by;  // target -> hosts
  for (int round = 0; round < 3; ++round)
    for (int obj = 0; obj < 12; ++obj) {
      std::string target = "/whoami?obj=" + std::to_string(obj);
      auto r = cluster_->Get(*client_, disp_->ip, 80, target);
      ASSERT_EQ(r.status, 200) << r.error;
      served_by[target].insert(WhoAmIHost(r.body));
    }
  std::set<std::string> used;
  for (auto& [target, hosts] : served_by) {
    EXPECT_EQ(hosts.size(), 1u) << target << " moved between front ends although none was overloaded";
    used.insert(hosts.begin(), hosts.end());
  }
  EXPECT_EQ(used.size(), 3u) << "LARD should spread new targets over the idle front ends";
}

TEST_F(L7Test, RequestsOfOneKeepAliveConnectionAreRoutedOneByOne) {
  StartCluster("bounded_hash");
  std::vector<std::string> targets;
  for (int i = 0; i < 12; ++i) targets.push_back("/whoami?k=" + std::to_string(i));
  int connections = 0;
  auto first = KeepAliveWhoAmI(*lab_, *client_, disp_->ip, 80, targets, &connections);
  ASSERT_EQ(first.size(), targets.size());
  EXPECT_EQ(connections, 1);
  EXPECT_GE(std::set<std::string>(first.begin(), first.end()).size(), 2u) << "one connection's requests should go to several front ends by target";
  // Consistent hashing: the same targets on a new connection land where they did.
  auto second = KeepAliveWhoAmI(*lab_, *client_, disp_->ip, 80, targets, &connections);
  EXPECT_EQ(first, second);
}

// Answers with a long Content-Length body (spliced through the kernel, not parsed) arrive
// whole, and the connection goes on with the next request on either side; a HEAD answer
// announcing a long body carries none.
TEST_F(L7Test, LargeAnswersArriveWholeOnAKeepAliveConnection) {
  StartCluster("round_robin");
  const std::vector<size_t> sizes = {300'000, 40'000, 10, 1'000'000, 32'768};
  std::vector<std::optional<std::string>> bodies;
  lab_->RunIn(*client_, [&] {
    TimedConnection c(disp_->ip, 80, 3s);
    ASSERT_TRUE(c.ok());
    for (size_t n : sizes) {
      std::optional<std::string> body;
      if (c.Send("GET /whoami?bytes=" + std::to_string(n) + " HTTP/1.1\r\nHost: lab\r\n\r\n", 3s)) body = c.ReadAnswerBody(5s);
      bodies.push_back(body);
    }
  });
  ASSERT_EQ(bodies.size(), sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(bodies[i].has_value()) << "answer " << i << " (" << sizes[i] << " filler bytes) did not arrive";
    const std::string& b = *bodies[i];
    auto line_end = b.find('\n');
    ASSERT_NE(line_end, std::string::npos);
    EXPECT_EQ(b.size() - line_end - 1, sizes[i]) << "answer " << i;
    EXPECT_EQ(b.find_first_not_of('x', line_end + 1), std::string::npos) << "answer " << i << " has bytes that are not the filler";
    EXPECT_EQ(b.rfind("host=", 0), 0u) << "answer " << i << " starts with " << b.substr(0, 40);
  }
  auto head = Raw(*lab_, *client_, disp_->ip, 80, "HEAD /whoami?bytes=500000 HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(head), 200) << head.substr(0, 300);
  auto head_end = head.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << head;
  EXPECT_EQ(head.size(), head_end + 4) << "a HEAD answer carried a body";
}

TEST_F(L7Test, MalformedAndAmbiguousRequestsGetWhatTheFrontEndGives) {
  StartCluster("round_robin");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "NOT HTTP AT ALL\r\n\r\n"},
      {"content-length and chunked", "POST /whoami HTTP/1.1\r\nHost: lab\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /whoami HTTP/1.1\r\nHost: lab\r\n\r\n"},
      {"two content-lengths", "POST /whoami HTTP/1.1\r\nHost: lab\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"},
      {"head too large", "GET /whoami HTTP/1.1\r\nHost: lab\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n"},
      {"bad chunk size", "POST /whoami HTTP/1.1\r\nHost: lab\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"},
  };
  for (auto& [name, bytes] : cases) {
    std::string direct = Raw(*lab_, *client_, fes_[0]->ip, 8080, bytes);
    std::string via = Raw(*lab_, *client_, disp_->ip, 80, bytes);
    EXPECT_EQ(StatusOf(via), StatusOf(direct)) << name << "\n-- via the dispatcher:\n" << via.substr(0, 300) << "\n-- front end itself:\n" << direct.substr(0, 300);
    EXPECT_GE(StatusOf(via), 400) << name;
    // Exactly one answer: the smuggled second request never reached a front end.
    EXPECT_EQ(via.find("HTTP/1.1", 1), std::string::npos) << name << ": " << via.substr(0, 400);
  }
  // And a good request after all that is served.
  EXPECT_EQ(cluster_->Get(*client_, disp_->ip, 80, "/whoami").status, 200);
}

// Behind l7 every connection a front end sees is the dispatcher's. With the dispatcher
// in http.trusted_proxies the front end takes each request to be from the client the
// dispatcher names in X-Forwarded-For (TranSend keys users without a cookie by it); a
// client's own X-Forwarded-For is never believed, directly or through the dispatcher.
TEST_F(L7Test, FrontEndsTakeTheClientFromATrustedDispatcherOnly) {
  cluster_->StartManager(*mgr_);
  const std::string trust = "http.trusted_proxies=[\"" + disp_->ip + "/32\"]";
  for (size_t i = 0; i < fes_.size(); ++i) cluster_->StartFrontend(*fes_[i], static_cast<int>(i), 8080, {trust});
  cluster_->StartDispatcher(*disp_, {"frontdoor.mode=l7", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.policy=round_robin"});
  WaitUntilEveryFrontEndJoined();
  if (HasFatalFailure()) return;

  auto body_of = [](const std::string& raw) { auto at = raw.find("\r\n\r\n"); return at == std::string::npos ? std::string() : raw.substr(at + 4); };
  const std::string plain = "GET /whoami HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n";
  const std::string forged = "GET /whoami HTTP/1.1\r\nHost: lab\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 3; ++i) {  // round robin: every front end once
    auto via = body_of(Raw(*lab_, *client_, disp_->ip, 80, plain));
    EXPECT_TRUE(WhoAmIClient(via).starts_with(disp_->ip + ":")) << via;  // the connection is the dispatcher's
    EXPECT_EQ(WhoAmIFor(via), client_->ip) << via;   // the request is the client's
    auto forged_via = body_of(Raw(*lab_, *client_, disp_->ip, 80, forged));
    EXPECT_EQ(WhoAmIFor(forged_via), client_->ip) << "a client's own X-Forwarded-For was believed through the dispatcher: " << forged_via;
  }
  auto forged_direct = body_of(Raw(*lab_, *client_, fes_[0]->ip, 8080, forged));
  EXPECT_EQ(WhoAmIFor(forged_direct), client_->ip) << "an untrusted client's X-Forwarded-For was believed: " << forged_direct;
}

// A back end that takes connections (the kernel completes them) and never answers: a
// listening socket inside `host` that nobody accepts from.
class SilentBackend {
 public:
  SilentBackend(NetnsLab& lab, const NetnsLab::Host& host, int port) {
    lab.RunIn(host, [&] {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 64) == 0;
    });
  }
  ~SilentBackend() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// The exchange's deadlines (a watchdog beside each client connection): a client that
// never sends a request is closed after http.idle_timeout_ms; a back end that never
// answers gets the client a 504 after proxy.read_timeout_ms, and the dispatcher goes on
// serving.
TEST_F(L7Test, ASilentClientIsClosedAndASilentBackEndGetsA504) {
  SilentBackend silent(*lab_, *fes_[0], 9000);
  ASSERT_TRUE(silent.ok());
  cluster_->StartManager(*mgr_);
  cluster_->StartFrontend(*fes_[1], 1);
  // Two static back ends: the silent one and a tacc front end; round robin alternates.
  cluster_->StartDispatcher(*disp_, {"frontdoor.mode=l7", "frontdoor.address=" + disp_->ip, "frontdoor.port=80", "frontdoor.policy=round_robin",
                                     "frontdoor.from_beacons=false", "frontdoor.health_interval_ms=60000",
                                     "frontdoor.backends=[\"" + fes_[0]->ip + ":9000\",\"" + fes_[1]->ip + ":8080\"]",
                                     "http.idle_timeout_ms=400", "proxy.read_timeout_ms=400"});
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && cluster_->Get(*client_, disp_->ip, 80, "/whoami").status != 200) std::this_thread::sleep_for(50ms);

  // A client that says nothing: closed, with nothing sent, well before our 5 s patience.
  std::string said;
  bool closed = false;
  auto started = Clock::now();
  lab_->RunIn(*client_, [&] {
    TimedConnection c(disp_->ip, 80, 2s);
    if (c.ok()) closed = c.ReadToEnd(&said, 5s);
  });
  auto waited = Clock::now() - started;
  EXPECT_TRUE(closed) << "the dispatcher kept an idle client past 5 s (http.idle_timeout_ms=400)";
  EXPECT_EQ(said, "");
  EXPECT_GE(waited, 300ms) << "closed before its idle timeout";

  // Requests on fresh connections alternate over the two back ends: the silent one's
  // turn gets a 504 (not a hang, not a 502), the other's a 200.
  std::map<int, int> statuses;
  for (int i = 0; i < 4; ++i) {
    auto raw = Raw(*lab_, *client_, disp_->ip, 80, "GET /whoami HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n", 5s);
    ++statuses[StatusOf(raw)];
  }
  EXPECT_EQ(statuses[504], 2) << "504s: " << statuses[504] << ", 200s: " << statuses[200] << ", no answer: " << statuses[0];
  EXPECT_EQ(statuses[200], 2);
}

}  // namespace
}  // namespace tacc::testing
