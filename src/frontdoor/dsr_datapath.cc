#include "frontdoor/dsr_datapath.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <thread>

#include "frontdoor/bpf/dsr_shared.h"
// Generated at build time (bpftool gen skeleton) from bpf/dsr_tc.bpf.c; it embeds the
// compiled program, so the binary needs no file at run time.
#include "dsr_tc.skel.h"

namespace tacc::frontdoor {
namespace {

// BPF_TCX_INGRESS (Linux 6.6): newer than the uapi headers we build with (Debian's 6.1),
// so spelled by value; the kernel's ABI never renumbers it.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
// Where our cls_bpf filter sits in the clsact qdisc (kClsact): fixed, so a filter left by
// a dispatcher that died is replaced, not run ahead of ours.
constexpr uint32_t kFilterHandle = 0xd5;
constexpr uint32_t kFilterPriority = 1;

// libbpf reports what went wrong (the verifier's log above all) through one process-wide
// print callback; Attach collects it for its error message.
thread_local std::string* t_libbpf_log = nullptr;

int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || t_libbpf_log == nullptr) return 0;
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof buf, format, args);
  if (n > 0) t_libbpf_log->append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
  return 0;
}

class LibbpfLogCapture {
 public:
  LibbpfLogCapture() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(LibbpfPrint); });
    t_libbpf_log = &log_;
  }
  ~LibbpfLogCapture() { t_libbpf_log = nullptr; }
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  // The end of what libbpf said (the verifier's verdict is at the end of its log).
  std::string Excerpt() const {
    constexpr size_t kMax = 3000;
    std::string s = log_.size() > kMax ? "..." + log_.substr(log_.size() - kMax) : log_;
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.empty() ? "" : "; libbpf: " + s;
  }

 private:
  std::string log_;
};

Status ErrnoStatus(int err, const std::string& what) {
  if (err == EPERM || err == EACCES)
    return Status::Forbidden(fmt::format("{}: {} (needs root: CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)", what, std::strerror(err)));
  return Status::Internal(fmt::format("{}: {}", what, std::strerror(err)));
}

Result<MacAddress> InterfaceMac(const std::string& interface) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus(errno, "socket");
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", interface.c_str());
  int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoStatus(err, fmt::format("reading the MAC of {}", interface));
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    return Status::InvalidArgument(fmt::format("{} is not an Ethernet device: dsr rewrites Ethernet addresses", interface));
  MacAddress mac;
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

ino_t NetnsInode(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// Runs fn in the network namespace `netns_fd`: here if this thread is in it, else on a
// thread that joins it (netlink requests act on the namespace of the thread that opens
// the socket, and the destructor may run on any thread).
template <typename Fn>
void RunInNetns(int netns_fd, Fn fn) {
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  bool same = self >= 0 && NetnsInode(self) == NetnsInode(netns_fd);
  if (self >= 0) close(self);
  if (same) {
    fn();
    return;
  }
  std::thread t([&] {
    if (setns(netns_fd, CLONE_NEWNET) == 0) fn();
  });
  t.join();
}

}  // namespace

const char* ToString(DsrDatapath::Hook hook) {
  switch (hook) {
    case DsrDatapath::Hook::kAuto:
      return "auto";
    case DsrDatapath::Hook::kTcx:
      return "tcx";
    case DsrDatapath::Hook::kClsact:
      return "clsact";
  }
  return "?";
}

uint32_t DsrDatapath::SlotOf(boost::asio::ip::address_v4 client, uint16_t client_port, size_t nslots) {
  return dsr_hash(client.to_uint(), client_port) % static_cast<uint32_t>(nslots);
}

Result<std::unique_ptr<DsrDatapath>> DsrDatapath::Attach(const Options& options) {
  if (options.interface.empty()) return Status::InvalidArgument("dsr: no interface");
  if (options.address.is_unspecified()) return Status::InvalidArgument("dsr: no cluster address");
  if (options.port == 0) return Status::InvalidArgument("dsr: no cluster port");
  if (options.syn_rate < 0) return Status::InvalidArgument(fmt::format("dsr: syn_rate {} < 0", options.syn_rate));
  if (options.max_connections == 0) return Status::InvalidArgument("dsr: max_connections is 0");
  unsigned ifindex = if_nametoindex(options.interface.c_str());
  if (ifindex == 0) return Status::NotFound(fmt::format("dsr: no interface '{}' in this network namespace", options.interface));
  auto mac = InterfaceMac(options.interface);
  if (!mac.ok()) return mac.status();

  std::unique_ptr<DsrDatapath> dp(new DsrDatapath());
  dp->options_ = options;
  dp->ifindex_ = ifindex;
  dp->generation_.assign(DSR_MAX_BACKENDS, 0);
  dp->address_of_.assign(DSR_MAX_BACKENDS, 0);
  dp->in_use_.assign(DSR_MAX_BACKENDS, false);

  LibbpfLogCapture log;
  dp->skel_ = dsr_tc::open();
  if (!dp->skel_) return ErrnoStatus(errno, "dsr: opening the BPF program" + log.Excerpt());
  if (int rc = bpf_map__set_max_entries(dp->skel_->maps.conns, options.max_connections); rc != 0)
    return ErrnoStatus(-rc, "dsr: sizing the connection map" + log.Excerpt());
  dsr_config& cfg = dp->skel_->bss->dsr_config;
  cfg.vip_be = htonl(options.address.to_uint());
  cfg.port_be = htons(options.port);
  cfg.ifindex = ifindex;
  std::memcpy(cfg.mac, mac->data(), sizeof cfg.mac);
  dp->skel_->bss->dsr_table = 0;
  if (Status s = dp->SetSynRate(options.syn_rate); !s.ok()) return s;
  if (int rc = dsr_tc::load(dp->skel_); rc != 0) {
    int err = -rc;
    if (err == EPERM || err == EACCES) return ErrnoStatus(err, "dsr: loading the BPF program");
    return Status::Internal(fmt::format("dsr: the kernel refused the BPF program: {}{}", std::strerror(err), log.Excerpt()));
  }
  if (Status s = dp->AttachHook(options.hook); !s.ok()) return Status(s.kind(), s.message() + log.Excerpt());
  return dp;
}

Status DsrDatapath::AttachHook(Hook wanted) {
  int prog_fd = bpf_program__fd(skel_->progs.dsr_ingress);
  if (wanted == Hook::kAuto || wanted == Hook::kTcx) {
    bpf_link_create_opts opts{};
    opts.sz = sizeof opts;
    int fd = bpf_link_create(prog_fd, static_cast<int>(ifindex_), kTcxIngress, &opts);
    if (fd >= 0) {
      link_fd_ = fd;
      hook_ = Hook::kTcx;
      return Status::Ok();
    }
    int err = -fd;
    // EINVAL: a kernel before tcx (6.6); anything else is a real refusal.
    if (wanted == Hook::kTcx || err != EINVAL)
      return ErrnoStatus(err, fmt::format("dsr: attaching the program to {} ingress (tcx link)", options_.interface));
  }

  netns_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (netns_fd_ < 0) return ErrnoStatus(errno, "dsr: opening this thread's network namespace");
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = static_cast<int>(ifindex_);
  hook.attach_point = BPF_TC_INGRESS;
  int rc = bpf_tc_hook_create(&hook);
  if (rc != 0 && rc != -EEXIST) return ErrnoStatus(-rc, fmt::format("dsr: adding a clsact qdisc to {}", options_.interface));
  created_qdisc_ = rc == 0;
  hook_ = Hook::kClsact;
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.prog_fd = prog_fd;
  opts.handle = kFilterHandle;
  opts.priority = kFilterPriority;
  opts.flags = BPF_TC_F_REPLACE;
  rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) return ErrnoStatus(-rc, fmt::format("dsr: attaching the program to {} ingress (cls_bpf filter)", options_.interface));
  return Status::Ok();
}

void DsrDatapath::Detach() {
  if (link_fd_ >= 0) {
    close(link_fd_);  // the tcx link goes with its last descriptor
    link_fd_ = -1;
  }
  if (hook_ == Hook::kClsact && netns_fd_ >= 0) {
    RunInNetns(netns_fd_, [&] {
      bpf_tc_hook hook{};
      hook.sz = sizeof hook;
      hook.ifindex = static_cast<int>(ifindex_);
      hook.attach_point = BPF_TC_INGRESS;
      bpf_tc_opts opts{};
      opts.sz = sizeof opts;
      opts.handle = kFilterHandle;
      opts.priority = kFilterPriority;
      bpf_tc_detach(&hook, &opts);  // fails only if someone removed it (or the interface) already
      if (created_qdisc_) {
        hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);  // the whole qdisc
        bpf_tc_hook_destroy(&hook);
      }
    });
  }
  if (netns_fd_ >= 0) {
    close(netns_fd_);
    netns_fd_ = -1;
  }
}

DsrDatapath::~DsrDatapath() {
  Detach();
  if (skel_) dsr_tc::destroy(skel_);
}

Status DsrDatapath::SetSynRate(int syn_rate) {
  if (syn_rate < 0) return Status::InvalidArgument(fmt::format("dsr: syn_rate {} < 0", syn_rate));
  constexpr uint64_t kSecond = 1'000'000'000;
  // At most syn_rate SYNs at once, then one every 1/syn_rate s.
  uint64_t interval = syn_rate == 0 ? 0 : std::max<uint64_t>(kSecond / static_cast<uint64_t>(syn_rate), 1);
  dsr_config& cfg = skel_->bss->dsr_config;
  std::atomic_ref<__u64>(cfg.syn_burst_ns).store(kSecond, std::memory_order_relaxed);
  std::atomic_ref<__u64>(cfg.syn_interval_ns).store(interval, std::memory_order_release);
  options_.syn_rate = syn_rate;
  return Status::Ok();
}

Status DsrDatapath::WriteBackend(uint32_t index, const DsrBackend& backend, bool present) {
  dsr_backend v{};
  std::memcpy(v.mac, backend.mac.data(), sizeof v.mac);
  v.present = present ? 1 : 0;
  v.ipv4_be = htonl(backend.address.to_uint());
  v.generation = generation_[index];
  if (int rc = bpf_map__update_elem(skel_->maps.backends, &index, sizeof index, &v, sizeof v, BPF_ANY); rc != 0)
    return ErrnoStatus(-rc, fmt::format("dsr: writing back end {} to the backends map", backend.address.to_string()));
  return Status::Ok();
}

Status DsrDatapath::Update(std::span<const DsrBackend> backends, std::span<const uint32_t> slots) {
  if (backends.size() > DSR_MAX_BACKENDS)
    return Status::InvalidArgument(fmt::format("dsr: {} back ends, at most {}", backends.size(), DSR_MAX_BACKENDS));
  if (slots.size() > DSR_MAX_SLOTS) return Status::InvalidArgument(fmt::format("dsr: {} slots, at most {}", slots.size(), DSR_MAX_SLOTS));
  std::map<uint32_t, size_t> listed;  // IPv4 -> position in backends
  for (size_t i = 0; i < backends.size(); ++i) {
    uint32_t ip = backends[i].address.to_uint();
    if (ip == 0) return Status::InvalidArgument("dsr: a back end without an address");
    if (!listed.emplace(ip, i).second)
      return Status::InvalidArgument(fmt::format("dsr: back end {} listed twice", backends[i].address.to_string()));
  }
  for (uint32_t s : slots)
    if (s >= backends.size()) return Status::InvalidArgument(fmt::format("dsr: slot names back end {} of {}", s, backends.size()));

  // 1. Back ends new to us get a free index before any slot can name them; one whose MAC
  //    changed (the same host with a new interface) is rewritten in place.
  std::vector<uint32_t> kernel_index(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    uint32_t ip = backends[i].address.to_uint();
    if (auto it = index_of_.find(ip); it != index_of_.end()) {
      kernel_index[i] = it->second;
      if (mac_of_[ip] != backends[i].mac) {
        if (Status s = WriteBackend(it->second, backends[i], true); !s.ok()) return s;
        mac_of_[ip] = backends[i].mac;
      }
      continue;
    }
    uint32_t idx = 0;
    while (in_use_[idx]) ++idx;  // there is one: at most DSR_MAX_BACKENDS are listed, and the gone ones were freed
    if (Status s = WriteBackend(idx, backends[i], true); !s.ok()) return s;
    in_use_[idx] = true;
    index_of_[ip] = idx;
    mac_of_[ip] = backends[i].mac;
    address_of_[idx] = ip;
    kernel_index[i] = idx;
  }

  // 2. The new table goes into the half of the slots map the kernel does not read, ...
  uint32_t half = table_half_ ^ 1;
  uint32_t offset = half * DSR_MAX_SLOTS;
  if (!slots.empty()) {
    std::vector<uint32_t> keys(slots.size()), values(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      keys[i] = offset + static_cast<uint32_t>(i);
      values[i] = kernel_index[slots[i]];
    }
    bpf_map_batch_opts opts{};
    opts.sz = sizeof opts;
    uint32_t count = static_cast<uint32_t>(keys.size());
    if (int rc = bpf_map_update_batch(bpf_map__fd(skel_->maps.slots), keys.data(), values.data(), &count, &opts); rc != 0)
      return ErrnoStatus(-rc, "dsr: writing the slot table");
  }
  // 3. ... and one store switches the kernel to it.
  std::atomic_ref<__u64>(skel_->bss->dsr_table).store(DSR_TABLE(offset, slots.size()), std::memory_order_release);
  table_half_ = half;

  // 4. Back ends no longer listed: no slot names them now; their connections' entries
  //    turn stale with the generation.
  for (auto it = index_of_.begin(); it != index_of_.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    uint32_t idx = it->second;
    ++generation_[idx];
    DsrBackend gone{boost::asio::ip::address_v4(it->first), mac_of_[it->first]};
    if (Status s = WriteBackend(idx, gone, false); !s.ok()) return s;
    in_use_[idx] = false;
    address_of_[idx] = 0;
    mac_of_.erase(it->first);
    it = index_of_.erase(it);
  }
  return Status::Ok();
}

DsrDatapath::Stats DsrDatapath::stats() const {
  int ncpus = libbpf_num_possible_cpus();
  Stats total;
  if (ncpus <= 0) return total;
  std::vector<dsr_stats> per_cpu(static_cast<size_t>(ncpus));  // 8-byte fields: no padding between CPUs
  uint32_t zero = 0;
  if (bpf_map__lookup_elem(skel_->maps.stats, &zero, sizeof zero, per_cpu.data(), per_cpu.size() * sizeof(dsr_stats), 0) != 0) return total;
  for (const dsr_stats& s : per_cpu) {
    total.packets += s.packets;
    total.bytes += s.bytes;
    total.new_connections += s.new_connections;
    total.adopted += s.adopted;
    total.redirected += s.redirected;
    total.dropped_no_backend += s.dropped_no_backend;
    total.dropped_syn_rate += s.dropped_syn_rate;
  }
  return total;
}

Result<std::vector<DsrConnEntry>> DsrDatapath::DumpConnections() const {
  std::vector<DsrConnEntry> out;
  int fd = bpf_map__fd(skel_->maps.conns);
  uint32_t chunk = 4096;
  std::vector<dsr_conn_key> keys(chunk);
  std::vector<dsr_conn> values(chunk);
  uint32_t in_batch = 0, out_batch = 0;
  bool first = true;
  bpf_map_batch_opts opts{};
  opts.sz = sizeof opts;
  for (;;) {
    uint32_t count = chunk;
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch, keys.data(), values.data(), &count, &opts);
    if (rc != 0 && rc != -ENOENT) {
      if (rc == -ENOSPC && chunk < (1u << 20)) {  // one hash bucket holds more than a chunk
        chunk *= 2;
        keys.resize(chunk);
        values.resize(chunk);
        continue;
      }
      return ErrnoStatus(-rc, "dsr: reading the connection map");
    }
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t idx = values[i].backend;
      if (idx >= in_use_.size() || !in_use_[idx] || values[i].generation != generation_[idx]) continue;  // stale
      out.push_back(DsrConnEntry{boost::asio::ip::address_v4(ntohl(keys[i].saddr_be)), ntohs(keys[i].sport_be),
                                 boost::asio::ip::address_v4(address_of_[idx])});
    }
    if (rc == -ENOENT) break;  // that was the last batch
    in_batch = out_batch;
    first = false;
  }
  return out;
}

Result<size_t> DsrDatapath::LoadConnections(std::span<const DsrConnEntry> entries) {
  std::vector<dsr_conn_key> keys;
  std::vector<dsr_conn> values;
  keys.reserve(entries.size());
  values.reserve(entries.size());
  for (const DsrConnEntry& e : entries) {
    auto it = index_of_.find(e.backend.to_uint());
    if (it == index_of_.end()) continue;  // not a current back end: never forward to it
    keys.push_back(dsr_conn_key{htonl(e.client.to_uint()), htons(e.client_port), 0});
    values.push_back(dsr_conn{it->second, generation_[it->second]});
  }
  if (keys.empty()) return size_t{0};
  bpf_map_batch_opts opts{};
  opts.sz = sizeof opts;
  uint32_t count = static_cast<uint32_t>(keys.size());
  if (int rc = bpf_map_update_batch(bpf_map__fd(skel_->maps.conns), keys.data(), values.data(), &count, &opts); rc != 0)
    return ErrnoStatus(-rc, fmt::format("dsr: loading connections ({} of {} written)", count, keys.size()));
  return keys.size();
}

}  // namespace tacc::frontdoor
