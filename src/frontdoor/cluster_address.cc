#include "frontdoor/cluster_address.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>


namespace tacc::frontdoor {

namespace {
// Runs `ip` (iproute2) with `args`; its stderr on failure.
Status RunIp(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    dup2(fds[1], 2);
    dup2(fds[1], 1);
    std::vector<char*> argv;
    std::string ip = "ip";
    argv.push_back(ip.data());
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp("ip", argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  std::string cmd = "ip";
  for (auto& a : args) cmd += " " + a;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return Status::Unavailable(fmt::format("`{}` failed: {}", cmd, out));
}
}  // namespace

ClusterAddress::~ClusterAddress() {
  if (held_) (void)Release();
}

std::string ClusterAddress::InterfaceFor(const std::string& ipv4) {
  in_addr want{};
  if (inet_pton(AF_INET, ipv4.c_str(), &want) != 1) return "";
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found, first_up;
  for (auto* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
    auto addr = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr;
    auto mask = i->ifa_netmask ? reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr : 0xffffffffu;
    if (first_up.empty() && (i->ifa_flags & IFF_UP)) first_up = i->ifa_name;
    if ((addr & mask) == (want.s_addr & mask) && mask != 0xffffffffu) {
      found = i->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  return found.empty() ? first_up : found;
}

Status ClusterAddress::AnnounceArp(const std::string& interface, const std::string& ipv4, int count) {
  in_addr ip{};
  if (inet_pton(AF_INET, ipv4.c_str(), &ip) != 1) return Status::InvalidArgument(ipv4 + " is not an IPv4 address");
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
  if (fd < 0) return Status::Unavailable(fmt::format("gratuitous ARP: packet socket: {}", std::strerror(errno)));
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", interface.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0 || ioctl(fd, SIOCGIFINDEX, &ifr) != 0) {
    close(fd);
    return Status::Unavailable(fmt::format("gratuitous ARP: interface {}: {}", interface, std::strerror(errno)));
  }
  int ifindex = ifr.ifr_ifindex;
  ioctl(fd, SIOCGIFHWADDR, &ifr);
  unsigned char mac[6];
  std::memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  unsigned char frame[42] = {};
  std::memset(frame, 0xff, 6);        // to everyone
  std::memcpy(frame + 6, mac, 6);     // from us
  frame[12] = 0x08, frame[13] = 0x06;  // ARP
  ether_arp* arp = reinterpret_cast<ether_arp*>(frame + 14);
  arp->arp_hrd = htons(ARPHRD_ETHER);
  arp->arp_pro = htons(ETHERTYPE_IP);
  arp->arp_hln = 6;
  arp->arp_pln = 4;
  arp->arp_op = htons(ARPOP_REQUEST);  // a gratuitous request: sender = target = the address
  std::memcpy(arp->arp_sha, mac, 6);
  std::memcpy(arp->arp_spa, &ip, 4);
  std::memcpy(arp->arp_tpa, &ip, 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  Status result = Status::Ok();
  for (int i = 0; i < count; ++i)
    if (sendto(fd, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0)
      result = Status::Unavailable(fmt::format("gratuitous ARP on {}: {}", interface, std::strerror(errno)));
  close(fd);
  return result;
}

Status ClusterAddress::Claim() {
  if (interface_.empty()) interface_ = InterfaceFor(address_);
  if (interface_.empty()) return Status::Unavailable("no interface to put the cluster address " + address_ + " on (set frontdoor.interface)");
  Status s = RunIp({"addr", "replace", address_ + "/32", "dev", interface_});
  if (!s.ok()) return s;
  held_ = true;
  if (Status a = AnnounceArp(interface_, address_, 3); !a.ok()) spdlog::warn("{}", a.ToString());
  spdlog::info("cluster address {} now on {} (announced)", address_, interface_);
  return Status::Ok();
}

Status ClusterAddress::ReleaseStale() {
  // A previous incarnation killed -9 could not take it off.
  Status s = RunIp({"addr", "del", address_ + "/32", "dev", interface_.empty() ? InterfaceFor(address_) : interface_});
  (void)s;  // absent: nothing to do
  held_ = false;
  return Status::Ok();
}

Status ClusterAddress::Release() {
  if (!held_) return Status::Ok();
  held_ = false;
  Status s = RunIp({"addr", "del", address_ + "/32", "dev", interface_});
  if (s.ok()) spdlog::info("cluster address {} released from {}", address_, interface_);
  return s;
}

}  // namespace tacc::frontdoor
