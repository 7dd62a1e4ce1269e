// DsrDatapath: the dsr mode's (L4/2, direct routing) data path, in the kernel.
//
// A tc ingress eBPF program (bpf/dsr_tc.bpf.c) on the dispatcher's interface sends each
// TCP packet for the cluster address and port to a back end by rewriting only its
// destination MAC, out of the same interface; the back ends hold the cluster address on
// their loopback and answer the client directly, so replies never pass the dispatcher
// (the clustering survey's eNetwork Dispatcher, LSMAC, ONE-IP). A new connection (a SYN)
// gets the back end of its slot in a slot table the caller computes (MaglevTable), at
// slot dsr_hash(client address, client port) % slots (bpf/dsr_shared.h; SlotOf here); a
// connection map keeps established connections on their back end when the table
// changes. A packet of a connection the map does not hold goes where the hash says,
// which is where any dispatcher with the same table sends it: a fresh dispatcher taking
// over keeps established connections with nothing copied (ONE-IP's stateless failover).
//
// What the network must look like (the caller's job, not this class's): the dispatcher
// owns the cluster address on `interface` (it answers ARP for it); each back end has the
// address on its loopback, answers no ARP for it (arp_ignore=1, arp_announce=2) and is on
// the same link as `interface`.
//
// Why tc, not XDP: a tc program works on any device, and its redirect back out of the
// same interface needs nothing of the other end. XDP_TX is the faster path on a physical
// NIC (no skb), but on a veth (how hosts and containers are joined, the tests' lab
// included) native XDP_TX drops every frame (the device's tx "dropped" counter) unless
// the veth's peer has an XDP program of its own, which on a bridge port is not ours to
// add; generic XDP works there but runs on an skb like tc, with no gain. Measured on
// Linux 6.18 with the lab's bridge. The program's logic would carry over to XDP
// unchanged for a NIC-only deployment.
//
// Ownership: the object owns the loaded program, its maps and its hook; the destructor
// detaches the program and removes what Attach added. Thread safety: none; one owner
// thread calls Update, LoadConnections and the destructor; stats() and DumpConnections()
// only read and may run while the kernel forwards.
#pragma once

#include <boost/asio/ip/address_v4.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "frontdoor/backend.h"

struct dsr_tc;  // the generated skeleton (dsr_tc.skel.h)

namespace tacc::frontdoor {

// A back end as the data path needs it: where frames for it go. Its identity is its
// address (a dsr back end listens on the cluster address and port, so only hosts differ).
struct DsrBackend {
  boost::asio::ip::address_v4 address;
  MacAddress mac{};
};

// One entry of the connection map: the client's connection goes to `backend`.
struct DsrConnEntry {
  boost::asio::ip::address_v4 client;
  uint16_t client_port = 0;
  boost::asio::ip::address_v4 backend;
  friend bool operator==(const DsrConnEntry&, const DsrConnEntry&) = default;
};

class DsrDatapath {
 public:
  // Where the program hangs on the interface.
  enum class Hook {
    kAuto,    // kTcx where the kernel has it (6.6 and later), else kClsact
    kTcx,     // a tcx link: owned by a file descriptor, so it goes when the process does
    kClsact,  // a cls_bpf direct-action filter on a clsact qdisc (older kernels); a
              // filter outlives a process that dies without detaching it, so Attach
              // replaces one left at our handle and priority
  };

  struct Options {
    std::string interface;                  // the device facing clients and back ends
    boost::asio::ip::address_v4 address;    // the cluster address
    uint16_t port = 0;                      // the cluster port
    int syn_rate = 0;                       // SYNs admitted per second, at most that many at once (0: no limit)
    uint32_t max_connections = 1u << 20;    // entries of the connection map (LRU: the oldest go first)
    Hook hook = Hook::kAuto;
  };

  // Summed over CPUs since Attach. Counted only for TCP to the cluster address and port.
  struct Stats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t new_connections = 0;     // SYNs given a back end
    uint64_t adopted = 0;             // packets of connections the map did not hold, sent where the hash says
    uint64_t redirected = 0;          // packets sent to a back end
    uint64_t dropped_no_backend = 0;  // no slot table yet, or the connection's back end is gone and so is its slot's
    uint64_t dropped_syn_rate = 0;    // SYNs over syn_rate
  };

  // Loads the program and hangs it on options.interface in the calling thread's network
  // namespace. Until the first Update it drops what it would forward (no back ends).
  // Errors: InvalidArgument (bad options), NotFound (no such interface), Forbidden (not
  // root: needs CAP_BPF and CAP_NET_ADMIN), Internal (the kernel refused the program or
  // the hook; with the verifier's log when it was the verifier).
  static Result<std::unique_ptr<DsrDatapath>> Attach(const Options& options);
  ~DsrDatapath();
  DsrDatapath(const DsrDatapath&) = delete;
  DsrDatapath& operator=(const DsrDatapath&) = delete;

  // Makes `backends` the back ends and `slots` the slot table: slots[i] is an index into
  // `backends`; a new connection from a client goes to backends[slots[SlotOf(client,
  // port, slots.size())]]. Empty slots: no new connections (established ones go on).
  // A back end not in `backends` any more gets no packet after this returns (its
  // connections go where the hash says); one still listed but in no slot keeps its
  // established connections (draining). Packets see the old table or the new one, never
  // a mix. Errors: InvalidArgument (a slot out of range, an address listed twice, too
  // many back ends or slots), Internal (a map update failed; the old table stays).
  // Two tables alternate in the kernel, so a packet still reading the table before last
  // could see a mix: updates are expected seconds apart, not microseconds.
  Status Update(std::span<const DsrBackend> backends, std::span<const uint32_t> slots);

  // Changes the SYN rate limit (0: none).
  Status SetSynRate(int syn_rate);

  Stats stats() const;

  // The connection map's entries whose back end is still current (for a hot standby's
  // replicated map). Order unspecified.
  Result<std::vector<DsrConnEntry>> DumpConnections() const;
  // Adds `entries` to the connection map (replacing entries of the same client), skipping
  // those whose back end is not a current one; how many it added.
  Result<size_t> LoadConnections(std::span<const DsrConnEntry> entries);

  // The slot of a connection from (client, client_port) in a table of `nslots` slots:
  // what the kernel computes (dsr_hash in bpf/dsr_shared.h). nslots > 0.
  static uint32_t SlotOf(boost::asio::ip::address_v4 client, uint16_t client_port, size_t nslots);

  Hook hook() const { return hook_; }  // the one in use (never kAuto)

 private:
  DsrDatapath() = default;
  Status AttachHook(Hook wanted);
  void Detach();
  Status WriteBackend(uint32_t index, const DsrBackend& backend, bool present);

  struct dsr_tc* skel_ = nullptr;
  Options options_;
  unsigned ifindex_ = 0;
  Hook hook_ = Hook::kAuto;
  int link_fd_ = -1;          // kTcx
  int netns_fd_ = -1;         // kClsact: the namespace of the interface (netlink detach happens there)
  bool created_qdisc_ = false;  // kClsact: the clsact qdisc is ours to remove
  // Back ends' indices in the backends map, by address: an index stays with its back end
  // across updates (whatever its position in the caller's list), so the connection map's
  // entries stay valid; an index's generation goes up when its back end goes.
  std::map<uint32_t, uint32_t> index_of_;  // IPv4 (host order) -> index
  std::map<uint32_t, MacAddress> mac_of_;  // IPv4 (host order) -> MAC written
  std::vector<uint32_t> generation_;       // by index
  std::vector<uint32_t> address_of_;       // by index: IPv4 (host order), 0 if free
  std::vector<bool> in_use_;               // by index
  uint32_t table_half_ = 0;  // which half of the slots map the kernel reads
};

const char* ToString(DsrDatapath::Hook hook);

}  // namespace tacc::frontdoor
