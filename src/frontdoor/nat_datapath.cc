#include "frontdoor/nat_datapath.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <endian.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

// libnfnetlink's copy of nfnetlink.h (pulled in by libnetfilter_conntrack) shares the
// kernel header's include guard and predates nf_tables.
#ifndef NFNL_SUBSYS_NFTABLES
#define NFNL_SUBSYS_NFTABLES 10
#endif

namespace tacc::frontdoor {
namespace {

// conntrack's own default for established TCP (net.netfilter.nf_conntrack_tcp_timeout_established).
constexpr uint32_t kEstablishedTimeoutS = 5 * 24 * 3600;

bool ParseIPv4(const std::string& text, in_addr* out) { return inet_pton(AF_INET, text.c_str(), out) == 1; }

std::string IPv4String(uint32_t network_order) {
  char buf[INET_ADDRSTRLEN];
  in_addr a{network_order};
  return inet_ntop(AF_INET, &a, buf, sizeof buf) ? std::string(buf) : std::string();
}

// Everything that goes into the nft text is checked against a narrow alphabet first: the
// text is a program, and a VIP of "1.2.3.4 accept; ..." must not become part of it.
bool IsTableName(std::string_view s) {
  return !s.empty() && s.size() <= 24 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}
bool IsInterfaceName(std::string_view s) {
  return !s.empty() && s.size() < 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// The named counter of a back end: "be_10_0_0_11_80".
std::string CounterName(const BackendSpec& b) {
  std::string name = "be_" + b.host + "_" + std::to_string(b.port);
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

// "1" in /proc/sys/net/ipv4/ip_forward of the calling thread's network namespace.
bool Forwarding() {
  std::ifstream in("/proc/sys/net/ipv4/ip_forward");
  char c = '0';
  in >> c;
  return c == '1';
}

// A module that is loaded, or built in with parameters, has a directory there.
bool ModuleKnown(const char* name) { return access((std::string("/sys/module/") + name).c_str(), F_OK) == 0; }

// Named counters of one table, straight from nf_tables over netlink (NFT_MSG_GETOBJ dump
// of counter objects). libnftables would do the same only after fetching its whole
// cache, every set element of every table in the namespace included: 0.6 s with one
// 65537-slot map, against well under a millisecond here.
Result<std::map<std::string, uint64_t>> DumpCounters(int fd, const std::string& table, uint32_t seq) {
  alignas(nlmsghdr) char req[256] = {};
  if (table.size() > 64) return Status::Internal("nat datapath: table name too long");
  auto* nlh = reinterpret_cast<nlmsghdr*>(req);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(NLMSG_DATA(nlh));
  nfg->nfgen_family = NFPROTO_IPV4;
  nfg->version = NFNETLINK_V0;
  size_t len = NLMSG_LENGTH(sizeof(nfgenmsg));
  auto put = [&](uint16_t type, const void* data, size_t n) {
    auto* a = reinterpret_cast<nlattr*>(req + NLMSG_ALIGN(len));
    a->nla_type = type;
    a->nla_len = static_cast<uint16_t>(NLA_HDRLEN + n);
    std::memcpy(reinterpret_cast<char*>(a) + NLA_HDRLEN, data, n);
    len = NLMSG_ALIGN(len) + NLA_ALIGN(a->nla_len);
  };
  put(NFTA_OBJ_TABLE, table.c_str(), table.size() + 1);
  uint32_t type = htonl(NFT_OBJECT_COUNTER);
  put(NFTA_OBJ_TYPE, &type, sizeof type);
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, req, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    return Status::Unavailable(fmt::format("nat datapath: reading counters: sendto: {}", std::strerror(errno)));
  }

  // Walks the attributes in [p, p + n): fn(type without flag bits, payload, payload length).
  auto each_attr = [](const char* p, size_t n, auto&& fn) {
    while (n >= NLA_HDRLEN) {
      const auto* a = reinterpret_cast<const nlattr*>(p);
      if (a->nla_len < NLA_HDRLEN || a->nla_len > n) return;
      fn(static_cast<uint16_t>(a->nla_type & NLA_TYPE_MASK), p + NLA_HDRLEN, static_cast<size_t>(a->nla_len - NLA_HDRLEN));
      size_t step = NLA_ALIGN(a->nla_len);
      if (step >= n) return;
      p += step;
      n -= step;
    }
  };
  std::map<std::string, uint64_t> packets;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable(fmt::format("nat datapath: reading counters: recv: {}", std::strerror(errno)));
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;  // the rest of an earlier, abandoned dump
      if (h->nlmsg_type == NLMSG_DONE) return packets;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        if (err == 0) continue;
        if (err == EPERM) return Status::Forbidden("nat datapath: reading counters: Operation not permitted (needs CAP_NET_ADMIN)");
        return Status::Unavailable(fmt::format("nat datapath: reading counters of table {}: {}", table, std::strerror(err)));
      }
      if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWOBJ)) continue;
      const char* attrs = static_cast<const char*>(NLMSG_DATA(h)) + NLMSG_ALIGN(sizeof(nfgenmsg));
      size_t attrs_len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)));
      std::string name;
      uint64_t count = 0;
      each_attr(attrs, attrs_len, [&](uint16_t t, const char* data, size_t dlen) {
        if (t == NFTA_OBJ_NAME) name.assign(data, strnlen(data, dlen));
        if (t == NFTA_OBJ_DATA) {
          each_attr(data, dlen, [&](uint16_t ct, const char* cdata, size_t clen) {
            if (ct == NFTA_COUNTER_PACKETS && clen == sizeof(uint64_t)) {
              uint64_t be;
              std::memcpy(&be, cdata, sizeof be);
              count = be64toh(be);
            }
          });
        }
      });
      if (!name.empty()) packets[name] = count;
    }
  }
}

struct DumpState {
  uint32_t vip = 0;   // network order
  uint16_t port = 0;  // network order
  bool established_only = true;
  std::vector<NatConn>* out = nullptr;
};

int CollectConnection(enum nf_conntrack_msg_type /*type*/, struct nf_conntrack* ct, void* data) {
  auto* s = static_cast<DumpState*>(data);
  if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != AF_INET || nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_TCP) return NFCT_CB_CONTINUE;
  if (nfct_get_attr_u32(ct, ATTR_IPV4_DST) != s->vip || nfct_get_attr_u16(ct, ATTR_PORT_DST) != s->port) return NFCT_CB_CONTINUE;
  if (!(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT)) return NFCT_CB_CONTINUE;
  if (s->established_only && nfct_get_attr_u8(ct, ATTR_TCP_STATE) != TCP_CONNTRACK_ESTABLISHED) return NFCT_CB_CONTINUE;
  NatConn c;
  c.client = IPv4String(nfct_get_attr_u32(ct, ATTR_IPV4_SRC));
  c.client_port = ntohs(nfct_get_attr_u16(ct, ATTR_PORT_SRC));
  c.backend = IPv4String(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC));
  c.backend_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
  if (nfct_attr_is_set(ct, ATTR_TCP_WSCALE_ORIG) > 0) c.client_wscale = nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_ORIG);
  if (nfct_attr_is_set(ct, ATTR_TCP_WSCALE_REPL) > 0) c.backend_wscale = nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_REPL);
  if (nfct_attr_is_set(ct, ATTR_TIMEOUT) > 0) c.timeout_s = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
  s->out->push_back(std::move(c));
  return NFCT_CB_CONTINUE;
}

struct CtDeleter {
  void operator()(nf_conntrack* ct) const { nfct_destroy(ct); }
};

}  // namespace

Result<NatChoice> ParseNatChoice(std::string_view text) {
  if (text == "hash_5tuple") return NatChoice::kHash5Tuple;
  if (text == "hash_source") return NatChoice::kHashSource;
  if (text == "round_robin") return NatChoice::kRoundRobin;
  if (text == "random") return NatChoice::kRandom;
  return Status::InvalidArgument(fmt::format("nat choice '{}': expected hash_5tuple, hash_source, round_robin or random", text));
}

const char* ToString(NatChoice choice) {
  switch (choice) {
    case NatChoice::kHash5Tuple:
      return "hash_5tuple";
    case NatChoice::kHashSource:
      return "hash_source";
    case NatChoice::kRoundRobin:
      return "round_robin";
    case NatChoice::kRandom:
      return "random";
  }
  return "?";
}

Result<std::unique_ptr<NatDatapath>> NatDatapath::Create(Options options) {
  if (!IsTableName(options.name))
    return Status::InvalidArgument(fmt::format("nat datapath: name '{}' must be 1..24 of [a-z0-9_]", options.name));
  in_addr vip{};
  if (!ParseIPv4(options.vip, &vip))
    return Status::InvalidArgument(fmt::format("nat datapath: VIP '{}' is not an IPv4 address", options.vip));
  uint32_t host_order = ntohl(vip.s_addr);
  if (host_order == 0 || host_order == 0xffffffff || (host_order >> 24) == 127 || (host_order >> 28) == 0xe) {
    return Status::InvalidArgument(fmt::format("nat datapath: VIP {} is not a unicast address another host can route to", options.vip));
  }
  options.vip = IPv4String(vip.s_addr);  // canonical form: it is compared with conntrack's
  if (options.port == 0) return Status::InvalidArgument("nat datapath: port must be 1..65535");
  if (!options.interface.empty() && !IsInterfaceName(options.interface)) {
    return Status::InvalidArgument(fmt::format("nat datapath: '{}' is not a network interface name", options.interface));
  }
  if (options.syn_rate < 0 || options.syn_burst < 0) return Status::InvalidArgument("nat datapath: syn_rate and syn_burst must be >= 0");

  if (!Forwarding()) {
    return Status::Unavailable(
        "nat datapath: this host does not forward IPv4 (net.ipv4.ip_forward=0); the nat dispatcher is the front ends' gateway: "
        "sysctl -w net.ipv4.ip_forward=1 (and net.ipv4.conf.all.send_redirects=0)");
  }
  // Our own socket for reading counters, opened first: libnftables exits the process when
  // it cannot open its netlink socket, so this is also the probe for netfilter netlink.
  int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (nl < 0) {
    return Status::Unavailable(fmt::format(
        "nat datapath: no netfilter netlink in this kernel (socket(AF_NETLINK, NETLINK_NETFILTER): {}); needs nfnetlink and nf_tables",
        std::strerror(errno)));
  }
  timeval patience{5, 0};  // the kernel answers at once; this only bounds a wedged one
  setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  nft_ctx* nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (nft == nullptr) {
    close(nl);
    return Status::Internal("nat datapath: nft_ctx_new failed");
  }
  nft_ctx_buffer_output(nft);
  nft_ctx_buffer_error(nft);
  nfct_handle* ct = nfct_open(CONNTRACK, 0);
  if (ct == nullptr) {
    int err = errno;
    nft_ctx_free(nft);
    close(nl);
    return Status::Unavailable(
        fmt::format("nat datapath: cannot open conntrack netlink ({}); needs nf_conntrack_netlink", std::strerror(err)));
  }
  std::unique_ptr<NatDatapath> dp(new NatDatapath(std::move(options), nft, ct, nl));
  Status s;
  {
    std::lock_guard lock(dp->mu_);
    s = dp->Run(dp->RulesetText(/*fresh=*/true), nullptr);
    dp->installed_ = s.ok();  // the transaction failed whole: there is no table to delete
  }
  if (!s.ok()) return s;
  return dp;
}

NatDatapath::NatDatapath(Options options, nft_ctx* nft, nfct_handle* ct, int nl)
    : options_(std::move(options)), table_("tacc_" + options_.name), nft_(nft), ct_(ct), nl_(nl) {}

NatDatapath::~NatDatapath() {
  std::lock_guard lock(mu_);
  if (installed_) {
    if (auto s = Run(fmt::format("delete table ip {}\n", table_), nullptr); !s.ok()) {
      spdlog::warn("nat datapath: could not remove table {}: {}", table_, s.ToString());
    }
  }
  close(nl_);
  nfct_close(ct_);
  nft_ctx_free(nft_);
}

Status NatDatapath::Run(const std::string& commands, std::string* out) {
  // The commands go through a memfd rather than nft_run_cmd_from_buffer: libnftables
  // 1.0.6 quotes the wrong line of a buffer in its errors, but the right one of a file.
  // Either way all of it is one transaction.
  int fd = memfd_create("tacc-nft", MFD_CLOEXEC);
  if (fd < 0) return Status::Internal(fmt::format("nat datapath: memfd_create: {}", std::strerror(errno)));
  const std::string path = fmt::format("/proc/self/fd/{}", fd);
  size_t done = 0;
  while (done < commands.size()) {
    ssize_t n = write(fd, commands.data() + done, commands.size() - done);
    if (n <= 0) {
      int err = errno;
      close(fd);
      return Status::Internal(fmt::format("nat datapath: writing the ruleset to a memfd: {}", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  int rc = nft_run_cmd_from_filename(nft_, path.c_str());
  close(fd);
  // Both buffers are read every time: reading rewinds them for the next command.
  std::string output = nft_ctx_get_output_buffer(nft_);
  std::string error = nft_ctx_get_error_buffer(nft_);
  if (rc == 0) {
    if (out) *out = std::move(output);
    return Status::Ok();
  }
  while (!error.empty() && error.back() == '\n') error.pop_back();
  // "/proc/self/fd/7:4:113-114: Error: ..." -> "line 4:113-114: Error: ..."
  for (size_t at; (at = error.find(path + ":")) != std::string::npos;) error.replace(at, path.size() + 1, "line ");
  if (error.find("Operation not permitted") != std::string::npos) {
    return Status::Forbidden(fmt::format("nat datapath: nftables refused table {} (needs CAP_NET_ADMIN: run as root): {}", table_, error));
  }
  std::string hint;
  if (!ModuleKnown("nf_tables")) hint = " (is nf_tables in this kernel? `modprobe nf_tables nft_chain_nat`)";
  return Status::Unavailable(fmt::format("nat datapath: nftables failed on table {}{}: {}", table_, hint, error));
}

std::string NatDatapath::RulesetText(bool fresh) const {
  const std::string& t = table_;
  std::string r;
  auto add = [&](std::string line) {
    r += line;
    r += '\n';
  };
  add(fmt::format("add table ip {}", t));
  if (fresh) {
    // One left by a dispatcher that died goes, in the same transaction as the new one comes.
    add(fmt::format("delete table ip {}", t));
    add(fmt::format("add table ip {}", t));
  } else {
    // Rules go, chains, sets and named counters stay (their counts survive the Update).
    add(fmt::format("flush table ip {}", t));
  }
  for (const char* c : {"syn_dropped", "midstream", "no_backend", "cut", "stray", "unknown_reply"}) add(fmt::format("add counter ip {} {}", t, c));
  for (const auto& [counter, id] : known_) add(fmt::format("add counter ip {} {}", t, counter));
  add(fmt::format("add set ip {} backends {{ type ipv4_addr . inet_service; }}", t));
  add(fmt::format("flush set ip {} backends", t));
  if (!current_.empty()) {
    std::string elements;
    for (const auto& b : current_) elements += fmt::format("{}{} . {}", elements.empty() ? "" : ", ", b.host, b.port);
    add(fmt::format("add element ip {} backends {{ {} }}", t, elements));
  }
  for (size_t i = 0; i < current_.size(); ++i) {
    add(fmt::format("add chain ip {} b{}", t, i));
    add(fmt::format("add rule ip {} b{} meta l4proto tcp counter name \"{}\" dnat to {}:{}", t, i, CounterName(current_[i]),
                    current_[i].host, current_[i].port));
  }
  if (!fresh) {
    // Their rules went with the flush above, so nothing refers to them now.
    for (size_t i = current_.size(); i < chains_; ++i) add(fmt::format("delete chain ip {} b{}", t, i));
  }

  std::string match = options_.interface.empty() ? "" : fmt::format("iifname \"{}\" ", options_.interface);
  match += fmt::format("ip daddr {} tcp dport {}", options_.vip, options_.port);

  add(fmt::format("add chain ip {} dispatch {{ type nat hook prerouting priority dstnat; policy accept; }}", t));
  if (!current_.empty() && !slots_.empty()) {
    std::string key;
    size_t n = slots_.size();
    switch (options_.choice) {
      case NatChoice::kHash5Tuple:
        key = fmt::format("jhash ip saddr . tcp sport mod {} seed {:#x}", n, options_.hash_seed);
        break;
      case NatChoice::kHashSource:
        key = fmt::format("jhash ip saddr mod {} seed {:#x}", n, options_.hash_seed);
        break;
      case NatChoice::kRoundRobin:
        key = fmt::format("numgen inc mod {}", n);
        break;
      case NatChoice::kRandom:
        key = fmt::format("numgen random mod {}", n);
        break;
    }
    std::string vmap;
    vmap.reserve(n * 16);
    for (size_t i = 0; i < n; ++i) vmap += fmt::format("{}{} : goto b{}", i ? ", " : "", i, slots_[i]);
    add(fmt::format("add rule ip {} dispatch {} {} vmap {{ {} }}", t, match, key, vmap));
  }
  // Reached only when no slot matched: no back end. The packet stays addressed to the VIP,
  // an address of this host, so this host refuses it; it is never forwarded.
  add(fmt::format("add rule ip {} dispatch {} counter name \"no_backend\"", t, match));

  // Before DNAT (mangle), after conntrack: "ct state new" is the first packet conntrack
  // saw of a connection.
  add(fmt::format("add chain ip {} new_guard {{ type filter hook prerouting priority mangle; policy accept; }}", t));
  if (DropsMidstream()) {
    add(fmt::format("add rule ip {} new_guard {} ct state new tcp flags & (fin | syn | rst | ack) != syn counter name \"midstream\" drop",
                    t, match));
  }
  if (options_.syn_rate > 0) {
    int burst = options_.syn_burst > 0 ? options_.syn_burst : options_.syn_rate;
    add(fmt::format("add rule ip {} new_guard {} ct state new limit rate over {}/second burst {} packets counter name \"syn_dropped\" drop",
                    t, match, options_.syn_rate, burst));
  }

  add(fmt::format("add chain ip {} forward_guard {{ type filter hook forward priority filter; policy accept; }}", t));
  if (!options_.drain) {
    add(fmt::format(
        "add rule ip {} forward_guard ct direction original ct original ip daddr {} ct original protocol tcp ct original proto-dst {} "
        "ip daddr . tcp dport != @backends "
        "counter name \"cut\" drop",
        t, options_.vip, options_.port));
  }
  add(fmt::format("add rule ip {} forward_guard ip daddr {} counter name \"stray\" drop", t, options_.vip));
  // A back end's packet from its service port that conntrack meets first (ct state new):
  // an answer in a connection another dispatcher carried (a takeover). Forwarded, it
  // would reach the client un-NATed (from the back end's address, not the VIP) and the
  // client would reset the connection; dropped, the back end retransmits, and once
  // Restore() (or the client's next packet, with a hash choice) has made the entry it
  // goes through translated. A back end never opens connections from that port.
  add(fmt::format("add rule ip {} forward_guard ct state new ip saddr . tcp sport @backends counter name \"unknown_reply\" drop", t));
  return r;
}

bool NatDatapath::DropsMidstream() const {
  switch (options_.midstream) {
    case Options::Midstream::kPickUp:
      return false;
    case Options::Midstream::kDrop:
      return true;
    case Options::Midstream::kAuto:
      return options_.choice == NatChoice::kRoundRobin || options_.choice == NatChoice::kRandom;
  }
  return false;
}

Status NatDatapath::Update(std::span<const BackendSpec> backends, std::span<const uint32_t> slots) {
  std::vector<BackendSpec> next;
  next.reserve(backends.size());
  for (const auto& b : backends) {
    in_addr a{};
    if (!ParseIPv4(b.host, &a))
      return Status::InvalidArgument(fmt::format("nat datapath: back end '{}' is not IPv4 (the table is ip only)", b.Id()));
    if (b.port == 0) return Status::InvalidArgument(fmt::format("nat datapath: back end '{}' has no port", b.Id()));
    BackendSpec canon = b;
    canon.host = IPv4String(a.s_addr);
    for (const auto& seen : next) {
      if (seen.Id() == canon.Id()) return Status::InvalidArgument(fmt::format("nat datapath: back end {} given twice", canon.Id()));
    }
    next.push_back(std::move(canon));
  }
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i] >= next.size()) {
      return Status::InvalidArgument(fmt::format("nat datapath: slot {} names back end {} of {}", i, slots[i], next.size()));
    }
  }
  std::lock_guard lock(mu_);
  std::vector<BackendSpec> prev_current = std::move(current_);
  std::vector<uint32_t> prev_slots = std::move(slots_);
  auto prev_known = known_;
  current_ = std::move(next);
  slots_.assign(slots.begin(), slots.end());
  for (const auto& b : current_) known_.emplace(CounterName(b), b.Id());
  Status s = Run(RulesetText(/*fresh=*/false), nullptr);
  if (!s.ok()) {
    current_ = std::move(prev_current);
    slots_ = std::move(prev_slots);
    known_ = std::move(prev_known);
    return s;
  }
  chains_ = current_.size();
  return Status::Ok();
}

Result<NatDatapath::Stats> NatDatapath::ReadStats() {
  std::lock_guard lock(mu_);
  auto counters = DumpCounters(nl_, table_, ++nl_seq_);
  if (!counters.ok()) return counters.status();
  std::map<std::string, uint64_t>& packets = *counters;
  Stats st;
  st.syn_dropped = packets["syn_dropped"];
  st.midstream = packets["midstream"];
  st.no_backend = packets["no_backend"];
  st.cut = packets["cut"];
  st.stray = packets["stray"];
  st.unknown_reply = packets["unknown_reply"];
  for (const auto& b : current_) st.backends.push_back({b.Id(), true, packets[CounterName(b)]});
  for (const auto& [counter, id] : known_) {
    bool current = std::any_of(current_.begin(), current_.end(), [&](const BackendSpec& b) { return b.Id() == id; });
    if (!current) st.backends.push_back({id, false, packets[counter]});
  }
  return st;
}

Result<std::vector<NatConn>> NatDatapath::DumpLocked(bool established_only) {
  std::vector<NatConn> out;
  DumpState state;
  in_addr vip{};
  ParseIPv4(options_.vip, &vip);
  state.vip = vip.s_addr;
  state.port = htons(options_.port);
  state.established_only = established_only;
  state.out = &out;
  nfct_callback_register(ct_, NFCT_T_ALL, CollectConnection, &state);
  uint32_t family = AF_INET;
  int rc = nfct_query(ct_, NFCT_Q_DUMP, &family);
  int err = errno;
  nfct_callback_unregister(ct_);
  if (rc < 0) return Status::Unavailable(fmt::format("nat datapath: conntrack dump failed: {}", std::strerror(err)));
  return out;
}

Result<std::vector<NatConn>> NatDatapath::Connections() {
  std::lock_guard lock(mu_);
  return DumpLocked(/*established_only=*/true);
}

Status NatDatapath::ForgetLocked(uint32_t client, uint16_t client_port) {
  std::unique_ptr<nf_conntrack, CtDeleter> ct(nfct_new());
  if (!ct) return Status::Internal("nat datapath: nfct_new failed");
  in_addr vip{};
  ParseIPv4(options_.vip, &vip);
  nfct_set_attr_u8(ct.get(), ATTR_L3PROTO, AF_INET);
  nfct_set_attr_u8(ct.get(), ATTR_L4PROTO, IPPROTO_TCP);
  nfct_set_attr_u32(ct.get(), ATTR_IPV4_SRC, client);
  nfct_set_attr_u32(ct.get(), ATTR_IPV4_DST, vip.s_addr);
  nfct_set_attr_u16(ct.get(), ATTR_PORT_SRC, htons(client_port));
  nfct_set_attr_u16(ct.get(), ATTR_PORT_DST, htons(options_.port));
  if (nfct_query(ct_, NFCT_Q_DESTROY, ct.get()) != 0 && errno != ENOENT) {
    return Status::Unavailable(fmt::format("nat datapath: conntrack refused to delete {}:{} -> {}:{} ({})", IPv4String(client), client_port,
                                           options_.vip, options_.port, std::strerror(errno)));
  }
  return Status::Ok();
}

Result<NatDatapath::RestoreResult> NatDatapath::Restore(std::span<const NatConn> conns, RestoreMode mode) {
  std::lock_guard lock(mu_);
  RestoreResult result;
  in_addr vip{};
  ParseIPv4(options_.vip, &vip);
  // What conntrack knows now, by client address:port (any TCP state): an entry for the
  // same back end is left alone, so that restoring the same list again (a standby fed
  // the active one's map every heartbeat) costs one dump and no changes.
  auto existing_list = DumpLocked(/*established_only=*/false);
  if (!existing_list.ok()) return existing_list.status();
  auto key = [](const std::string& client, uint16_t port) { return client + ":" + std::to_string(port); };
  std::map<std::string, const NatConn*> existing;
  for (const auto& e : *existing_list) existing[key(e.client, e.client_port)] = &e;
  std::set<std::string> wanted;

  for (const auto& c : conns) {
    in_addr client{}, backend{};
    bool current = std::any_of(current_.begin(), current_.end(),
                               [&](const BackendSpec& b) { return b.host == c.backend && b.port == c.backend_port; });
    if (!ParseIPv4(c.client, &client) || !ParseIPv4(c.backend, &backend) || c.client_port == 0 || !current || c.client_wscale > 14 ||
        c.backend_wscale > 14) {
      ++result.skipped;
      continue;
    }
    std::string k = key(IPv4String(client.s_addr), c.client_port);
    wanted.insert(k);
    bool replaced = false;
    if (auto it = existing.find(k); it != existing.end()) {
      if (it->second->backend == IPv4String(backend.s_addr) && it->second->backend_port == c.backend_port) {
        ++result.unchanged;
        continue;
      }
      if (auto s = ForgetLocked(client.s_addr, c.client_port); !s.ok()) return s;
      replaced = true;
    }

    std::unique_ptr<nf_conntrack, CtDeleter> ct(nfct_new());
    if (!ct) return Status::Internal("nat datapath: nfct_new failed");
    nf_conntrack* e = ct.get();
    nfct_set_attr_u8(e, ATTR_L3PROTO, AF_INET);
    nfct_set_attr_u8(e, ATTR_L4PROTO, IPPROTO_TCP);
    nfct_set_attr_u32(e, ATTR_IPV4_SRC, client.s_addr);
    nfct_set_attr_u32(e, ATTR_IPV4_DST, vip.s_addr);
    nfct_set_attr_u16(e, ATTR_PORT_SRC, htons(c.client_port));
    nfct_set_attr_u16(e, ATTR_PORT_DST, htons(options_.port));
    // As conntrackd does: the reply tuple is the plain inverse of the original, and the
    // kernel's own NAT setup (CTA_NAT_DST) turns it into backend -> client and marks the
    // entry DST_NAT, so that its packets are translated.
    nfct_setobjopt(e, NFCT_SOPT_SETUP_REPLY);
    nfct_set_attr_u32(e, ATTR_DNAT_IPV4, backend.s_addr);
    nfct_set_attr_u16(e, ATTR_DNAT_PORT, htons(c.backend_port));
    nfct_set_attr_u32(e, ATTR_TIMEOUT, c.timeout_s ? c.timeout_s : kEstablishedTimeoutS);
    nfct_set_attr_u32(e, ATTR_STATUS, IPS_SEEN_REPLY | IPS_ASSURED);
    nfct_set_attr_u8(e, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
    // This kernel did not see the handshake, so it knows neither side's sequence numbers
    // nor, unless told, their window scale: "be liberal" keeps its window tracking from
    // marking the connection's segments invalid (which would leave them untranslated).
    uint8_t flags = IP_CT_TCP_FLAG_BE_LIBERAL;
    if (c.client_wscale || c.backend_wscale) {
      flags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
      nfct_set_attr_u8(e, ATTR_TCP_WSCALE_ORIG, c.client_wscale);
      nfct_set_attr_u8(e, ATTR_TCP_WSCALE_REPL, c.backend_wscale);
    }
    nfct_set_attr_u8(e, ATTR_TCP_FLAGS_ORIG, flags);
    nfct_set_attr_u8(e, ATTR_TCP_MASK_ORIG, flags);
    nfct_set_attr_u8(e, ATTR_TCP_FLAGS_REPL, flags);
    nfct_set_attr_u8(e, ATTR_TCP_MASK_REPL, flags);

    int rc = -1;
    int err = 0;
    // A packet of the connection may come between the dump and here and be given a back
    // end by the choice (conntrack picks TCP up mid-stream): that entry goes, ours comes.
    for (int attempt = 0; attempt < 3; ++attempt) {
      rc = nfct_query(ct_, NFCT_Q_CREATE, e);
      err = errno;
      if (rc == 0 || err != EEXIST) break;
      if (auto s = ForgetLocked(client.s_addr, c.client_port); !s.ok()) return s;
      replaced = true;
    }
    if (rc != 0) {
      return Status::Unavailable(fmt::format(
          "nat datapath: conntrack refused the entry {}:{} -> {}:{} via {}:{} ({}); {} restored before it", c.client, c.client_port,
          options_.vip, options_.port, c.backend, c.backend_port, std::strerror(err), result.created + result.replaced));
    }
    ++(replaced ? result.replaced : result.created);
  }

  if (mode == RestoreMode::kMirror) {
    for (const auto& [k, e] : existing) {
      if (wanted.count(k)) continue;
      in_addr client{};
      ParseIPv4(e->client, &client);
      if (auto s = ForgetLocked(client.s_addr, e->client_port); !s.ok()) return s;
      ++result.removed;
    }
  }
  return result;
}

}  // namespace tacc::frontdoor
