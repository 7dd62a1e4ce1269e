#include "frontdoor/neighbor_table.h"

#include <fmt/format.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace tacc::frontdoor {
namespace {

// One rtnetlink socket, closed on scope exit.
class RtNetlink {
 public:
  // groups: multicast groups to hear (RTMGRP_*), 0 for none.
  explicit RtNetlink(uint32_t groups = 0) : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (fd_ < 0 || groups == 0) return;
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = groups;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RtNetlink() {
    if (fd_ >= 0) close(fd_);
  }
  RtNetlink(const RtNetlink&) = delete;
  RtNetlink& operator=(const RtNetlink&) = delete;
  int fd() const { return fd_; }

  // Sends one request and hands every answer message to `on_msg` until the kernel says
  // done (a dump) or acks (a request with NLM_F_ACK). Errors the kernel reports come back
  // as a negative errno.
  template <typename OnMsg>
  int Transact(nlmsghdr* req, OnMsg on_msg) {
    req->nlmsg_seq = ++seq_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, req, req->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return -errno;
    std::vector<char> buf(64 * 1024);
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      int ready = poll(&p, 1, 2000);  // the kernel answers at once; this only bounds a bug
      if (ready <= 0) return ready == 0 ? -ETIMEDOUT : -errno;
      ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_type == NLMSG_DONE) return 0;
        if (h->nlmsg_type == NLMSG_ERROR) {
          auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
          return err->error;  // 0: the ack
        }
        on_msg(h);
      }
    }
  }

 private:
  int fd_;
  uint32_t seq_ = 0;
};

Result<unsigned> InterfaceIndex(const std::string& interface) {
  unsigned ifindex = if_nametoindex(interface.c_str());
  if (ifindex == 0) return Status::NotFound(fmt::format("no interface '{}' in this network namespace", interface));
  return ifindex;
}

Result<std::optional<MacAddress>> Lookup(RtNetlink& nl, unsigned ifindex, boost::asio::ip::address_v4 ip) {
  struct {
    nlmsghdr h;
    ndmsg ndm;
  } req{};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  req.h.nlmsg_type = RTM_GETNEIGH;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.ndm.ndm_family = AF_INET;
  const auto want = ip.to_bytes();
  std::optional<MacAddress> found;
  int rc = nl.Transact(&req.h, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNEIGH) return;
    auto* ndm = static_cast<ndmsg*>(NLMSG_DATA(h));
    if (ndm->ndm_family != AF_INET || static_cast<unsigned>(ndm->ndm_ifindex) != ifindex) return;
    constexpr uint16_t kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
    if (!(ndm->ndm_state & kUsable)) return;
    const unsigned char* dst = nullptr;
    const unsigned char* lladdr = nullptr;
    int attr_len = static_cast<int>(RTM_PAYLOAD(h));
    for (auto* a = RTM_RTA(ndm); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
      if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == 4) dst = static_cast<const unsigned char*>(RTA_DATA(a));
      if (a->rta_type == NDA_LLADDR && RTA_PAYLOAD(a) == 6) lladdr = static_cast<const unsigned char*>(RTA_DATA(a));
    }
    if (!dst || !lladdr || std::memcmp(dst, want.data(), 4) != 0) return;
    MacAddress mac;
    std::memcpy(mac.data(), lladdr, mac.size());
    found = mac;
  });
  if (rc < 0) return Status::Internal(fmt::format("reading the neighbour table (RTM_GETNEIGH): {}", std::strerror(-rc)));
  return found;
}

// Asks the kernel to resolve ip on ifindex (NTF_USE: as if a packet were waiting for it),
// which sends ARP requests without sending the host anything of ours.
int TriggerResolution(RtNetlink& nl, unsigned ifindex, boost::asio::ip::address_v4 ip) {
  struct {
    nlmsghdr h;
    ndmsg ndm;
    char attrs[RTA_SPACE(4)];
  } req{};
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof(ndmsg));
  req.h.nlmsg_type = RTM_NEWNEIGH;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.ndm.ndm_family = AF_INET;
  req.ndm.ndm_ifindex = static_cast<int>(ifindex);
  req.ndm.ndm_state = NUD_NONE;
  req.ndm.ndm_flags = NTF_USE;
  auto* attr = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.h.nlmsg_len));
  attr->rta_type = NDA_DST;
  attr->rta_len = RTA_LENGTH(4);
  const auto bytes = ip.to_bytes();
  std::memcpy(RTA_DATA(attr), bytes.data(), 4);
  req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_LENGTH(4);
  return nl.Transact(&req.h, [](nlmsghdr*) {});
}

}  // namespace

std::string FormatMac(const MacAddress& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

Result<std::optional<MacAddress>> LookupNeighbor(const std::string& interface, boost::asio::ip::address_v4 ip) {
  auto ifindex = InterfaceIndex(interface);
  if (!ifindex.ok()) return ifindex.status();
  RtNetlink nl;
  if (nl.fd() < 0) return Status::Internal(fmt::format("rtnetlink socket: {}", std::strerror(errno)));
  return Lookup(nl, *ifindex, ip);
}

Status ResolveNeighbors(const std::string& interface, std::vector<boost::asio::ip::address_v4> ips, std::chrono::milliseconds timeout,
                        const std::function<void(boost::asio::ip::address_v4, Result<MacAddress>)>& on_result) {
  auto ifindex = InterfaceIndex(interface);
  if (!ifindex.ok()) return ifindex.status();
  RtNetlink nl;
  RtNetlink events(RTMGRP_NEIGH);  // wakes us when the table changes
  if (nl.fd() < 0 || events.fd() < 0) return Status::Internal(fmt::format("rtnetlink socket: {}", std::strerror(errno)));
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  // The kernel retries ARP on its own (mcast_probes, retrans_time); asking again now and
  // then restarts an entry that already failed.
  constexpr auto kRetrigger = std::chrono::milliseconds(500);
  auto next_trigger = Clock::now();
  while (!ips.empty()) {
    // Each one known now is reported at once; the others are waited for together.
    for (auto it = ips.begin(); it != ips.end();) {
      auto mac = Lookup(nl, *ifindex, *it);
      if (!mac.ok()) return mac.status();
      if (*mac) {
        on_result(*it, **mac);
        it = ips.erase(it);
      } else {
        ++it;
      }
    }
    if (ips.empty()) break;
    auto now = Clock::now();
    if (now >= deadline) break;
    if (now >= next_trigger) {
      for (auto& ip : ips)
        if (int rc = TriggerResolution(nl, *ifindex, ip); rc < 0)
          return Status::Internal(fmt::format("asking the kernel to resolve {} on {} (RTM_NEWNEIGH): {}", ip.to_string(), interface, std::strerror(-rc)));
      next_trigger = now + kRetrigger;
    }
    auto wake = std::min(deadline, next_trigger);
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now()).count() + 1;
    pollfd p{events.fd(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(wait_ms, 0))) > 0) {
      char drain[8192];
      while (recv(events.fd(), drain, sizeof drain, MSG_DONTWAIT) > 0) {
      }
    }
  }
  for (auto& ip : ips) on_result(ip, Status::Timeout(fmt::format("no ARP answer from {} on {} within {} ms", ip.to_string(), interface, timeout.count())));
  return Status::Ok();
}

Result<MacAddress> ResolveNeighbor(const std::string& interface, boost::asio::ip::address_v4 ip, std::chrono::milliseconds timeout) {
  std::optional<Result<MacAddress>> got;
  Status s = ResolveNeighbors(interface, {ip}, timeout, [&](boost::asio::ip::address_v4, Result<MacAddress> r) { got = std::move(r); });
  if (!s.ok()) return s;
  return got ? std::move(*got) : Result<MacAddress>(Status::Internal("no result"));
}

}  // namespace tacc::frontdoor
