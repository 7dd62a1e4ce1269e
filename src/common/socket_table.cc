#include "common/socket_table.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <cstddef>
#include <algorithm>

#include <fmt/format.h>

namespace tacc {

namespace {

// An fd closed on every way out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr uint32_t kEstablished = 1u << 1;  // TCPF_ESTABLISHED (TCP_ESTABLISHED = 1)

bool LocalMatches(const inet_diag_msg& m, const boost::asio::ip::address& local, uint16_t port) {
  if (ntohs(m.id.idiag_sport) != port) return false;
  if (local.is_v4()) {
    auto b = local.to_v4().to_bytes();
    return m.idiag_family == AF_INET && std::memcmp(m.id.idiag_src, b.data(), 4) == 0;
  }
  auto b = local.to_v6().to_bytes();
  return m.idiag_family == AF_INET6 && std::memcmp(m.id.idiag_src, b.data(), 16) == 0;
}

boost::asio::ip::address RemoteOf(const inet_diag_msg& m) {
  if (m.idiag_family == AF_INET) {
    boost::asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), m.id.idiag_dst, 4);
    return boost::asio::ip::address_v4(b);
  }
  boost::asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), m.id.idiag_dst, 16);
  return boost::asio::ip::address_v6(b);
}

}  // namespace

Result<std::vector<EstablishedConnection>> ListEstablishedTcp(const boost::asio::ip::address& local, uint16_t local_port, size_t max,
                                                              bool* truncated) {
  if (truncated) *truncated = false;
  Fd sock{::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)};
  if (sock.fd < 0)
    return Status::Unavailable(fmt::format("socket(NETLINK_SOCK_DIAG): {}", std::strerror(errno)));

  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } request{};
  request.nlh.nlmsg_len = sizeof(request);
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.nlh.nlmsg_seq = 1;
  request.req.sdiag_family = local.is_v4() ? AF_INET : AF_INET6;
  request.req.sdiag_protocol = IPPROTO_TCP;
  request.req.idiag_states = kEstablished;
  request.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
  // A dump is filtered by state only (no bytecode filter): the local address and port
  // are matched here.
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(sock.fd, &request, sizeof(request), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
    return Status::Internal(fmt::format("sock_diag request: {}", std::strerror(errno)));

  std::vector<EstablishedConnection> out;
  alignas(nlmsghdr) static thread_local std::array<char, 64 * 1024> buf;
  for (;;) {
    ssize_t n = ::recv(sock.fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(fmt::format("sock_diag dump: {}", std::strerror(errno)));
    }
    if (n == 0) return Status::Internal("sock_diag dump: the kernel closed the socket");
    size_t len = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return out;
      if (h->nlmsg_type == NLMSG_ERROR) {
        auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(h));
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return Status::Internal("sock_diag dump: truncated error");
        if (err->error == -ENOENT || err->error == -EOPNOTSUPP || err->error == -EINVAL)
          return Status::Unavailable(fmt::format("sock_diag: {} (no inet_diag for TCP in this kernel?)", std::strerror(-err->error)));
        return Status::Internal(fmt::format("sock_diag dump: {}", std::strerror(-err->error)));
      }
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
      auto* m = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
      if (!LocalMatches(*m, local, local_port)) continue;
      if (out.size() >= max) {
        if (truncated) *truncated = true;
        continue;  // read the dump to its end
      }
      EstablishedConnection c;
      c.remote = RemoteOf(*m);
      c.remote_port = ntohs(m->id.idiag_dport);
      // Attributes after the message: INET_DIAG_INFO holds a struct tcp_info (maybe
      // shorter or longer than this header's; the window scales are near its start).
      int attr_len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(inet_diag_msg)));
      for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
        if (a->rta_type != INET_DIAG_INFO) continue;
        constexpr size_t kNeed = offsetof(tcp_info, tcpi_rto);  // through the byte holding the scales
        if (RTA_PAYLOAD(a) < kNeed) break;
        tcp_info info{};
        std::memcpy(&info, RTA_DATA(a), std::min<size_t>(RTA_PAYLOAD(a), sizeof(info)));
        c.remote_wscale = static_cast<uint8_t>(info.tcpi_snd_wscale);
        c.local_wscale = static_cast<uint8_t>(info.tcpi_rcv_wscale);
      }
      out.push_back(c);
    }
  }
}

}  // namespace tacc
