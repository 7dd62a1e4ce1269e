// NatDatapath: the L4/3 (NAT) dispatcher's data path, in the kernel (nftables + conntrack).
//
// The dispatcher is the front ends' gateway (their route to clients goes through it).
// For TCP to (VIP, port) it rewrites the destination to a back end on the way in (DNAT;
// the back end is chosen on the connection's first packet, the SYN) and conntrack
// rewrites the source back to the VIP on the way out (LSNAT, RFC 2391; the clustering
// survey's L4/3). The kernel does all of it: no packet reaches user space.
//
// The choice is a slot table (slot -> back-end index, built by the caller, e.g. a
// weighted Maglev table: weights are how many slots a back end owns) indexed by a hash
// of the client's address and port, by the client address alone, by a round-robin
// counter or at random (NatChoice). The rules live in one nftables table of their own,
// "ip tacc_<name>"; each Update() replaces them in one netlink transaction, so a packet
// sees either the old rules or the new ones, never none. The destructor deletes the table.
// The ruleset (see nat_datapath.cc RulesetText for the exact text):
//   new_guard     (filter, prerouting, before DNAT): connections conntrack meets in
//                 mid-stream may be dropped (Options.midstream); new connections to
//                 VIP:port over syn_rate/s are dropped; both counted
//   dispatch      (nat, prerouting): VIP:port -> <choice> mod N -> slot -> goto b<i>;
//                 b<i> counts the connection for its back end and DNATs to it
//   forward_guard (filter, forward): nothing addressed to the VIP itself is ever forwarded;
//                 unless Options.drain, packets of connections to a back end that is no
//                 longer current are dropped (the dispatcher never forwards to an address
//                 that is not a current back end); a back end's packet from its
//                 service port of a connection conntrack did not know (a takeover) is
//                 dropped rather than forwarded un-NATed (the client would reset it)
// Packets to the VIP on other ports are not touched: the VIP is an address of the
// dispatcher host, so they are delivered to it (or refused by it), never forwarded.
//
// Needs CAP_NET_ADMIN, the nf_tables, nat and conntrack modules, and
// net.ipv4.ip_forward=1 (Create says which is missing). IPv4 only (an "ip" table).
//
// Kernel state belongs to the network namespace of the thread that called Create():
// the netlink sockets are opened there and kept, so later calls from any thread act on
// that namespace.
//
// Thread safety: all methods may be called from any thread (one mutex). Each blocks for
// its netlink round trips: ReadStats well under 1 ms; Update a few ms (about 0.5 s with a
// 65537-slot table: libnftables fetches the namespace's rules and sets before a change);
// Connections and Restore in proportion to the host's conntrack table.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "frontdoor/backend.h"

struct nft_ctx;
struct nfct_handle;

namespace tacc::frontdoor {

// How the slot of a new connection is chosen.
enum class NatChoice {
  // jhash of the connection's 5-tuple. Protocol, VIP and port are the same for every
  // connection, so in effect of (client address, client port). Stateless: a standby
  // with the same seed and slot table sends every connection where the active one did
  // (ONE-IP's failover: nothing to copy).
  kHash5Tuple,
  kHashSource,  // jhash of the client address: every connection of a client to one back end
  kRoundRobin,  // numgen inc: slots in turn (weighted round robin through the slot table)
  kRandom,      // numgen random
};
// "hash_5tuple" | "hash_source" | "round_robin" | "random"
Result<NatChoice> ParseNatChoice(std::string_view text);
const char* ToString(NatChoice choice);

// One connection through the dispatcher, as conntrack knows it: a client connected to
// VIP:port and was sent to backend:backend_port. Connections() lists them; Restore()
// makes the kernel know them (on a standby taking over: Magicrouter's replicated
// connection map, or LSNAT's rebuild from the front ends, whose sockets know the same
// four fields).
struct NatConn {
  std::string client;  // IPv4, dotted quad
  uint16_t client_port = 0;
  std::string backend;  // IPv4 of the back end
  uint16_t backend_port = 0;
  // TCP window scale each side announced (0..14; conntrack's window tracking needs it to
  // accept the segments of a connection it did not see open). From a dump of the active
  // dispatcher's conntrack, or on a front end from TCP_INFO (client: tcpi_snd_wscale,
  // backend: tcpi_rcv_wscale). 0 if unknown: Restore() marks its entries "be liberal"
  // (no window checks) either way.
  uint8_t client_wscale = 0;
  uint8_t backend_wscale = 0;
  uint32_t timeout_s = 0;  // Connections(): seconds conntrack keeps it idle; Restore(): 0 = 5 days (established)

  bool operator==(const NatConn&) const = default;
};

class NatDatapath {
 public:
  struct Options {
    std::string name = "dispatch";  // the table is "ip tacc_<name>": [a-z0-9_], 1..24 characters
    std::string vip;                // the cluster address, IPv4 (must be an address of this host to be served)
    uint16_t port = 0;              // the cluster port (TCP)
    std::string interface;          // "": packets to VIP:port from any device; else only those arriving on it
    NatChoice choice = NatChoice::kHash5Tuple;
    // jhash seed. A hot-standby pair must use the same one (and the same slot table) for
    // stateless failover.
    uint32_t hash_seed = 0x7acc0001;
    int syn_rate = 0;   // new connections/s to VIP:port the kernel lets through; over it SYNs are dropped. 0: no limit
    int syn_burst = 0;  // SYNs let through at once above the rate; 0: syn_rate (a second's worth)
    // A packet to VIP:port that conntrack does not know and that is not a SYN: the middle
    // of a connection another dispatcher carried (a takeover), or left over. kPickUp: it
    // is given a back end by the choice like a SYN (right with a hash choice the old
    // dispatcher shared: stateless failover). kDrop: dropped and counted (the client
    // retransmits; once Restore() has told this host the connection, it goes through).
    // kAuto: kPickUp for the hash choices, kDrop for round robin and random (whose choice
    // would send it to a back end that does not know it, which would reset it).
    enum class Midstream { kAuto, kPickUp, kDrop };
    Midstream midstream = Midstream::kAuto;
    // false (default): established connections to a back end that Update() removed are cut
    // (their packets dropped: never forwarded to an address that is not a current back end).
    // true: they go on until they end (draining), only new ones avoid it.
    bool drain = false;
  };

  struct BackendStats {
    std::string id;                // "host:port"
    bool current = false;          // in the latest Update's back ends
    uint64_t new_connections = 0;  // sent to it since it first appeared (kept across Updates)
  };
  struct Stats {
    std::vector<BackendStats> backends;  // every back end ever given, current ones first in Update order
    uint64_t syn_dropped = 0;            // SYNs over syn_rate
    uint64_t midstream = 0;              // packets of connections this host did not know, dropped (Midstream::kDrop)
    uint64_t no_backend = 0;             // new connections to VIP:port while there was no back end (left to this host: refused)
    uint64_t cut = 0;                    // packets of connections to a removed back end, dropped (drain off)
    uint64_t stray = 0;                  // packets to the VIP that were about to be forwarded un-NATed, dropped
    uint64_t unknown_reply = 0;          // packets from a back end's service port of a connection this host did not know, dropped
  };

  struct RestoreResult {
    size_t created = 0;  // new conntrack entries
    size_t replaced =
        0;  // an entry for the same client address:port with another back end (e.g. picked up mid-stream by the choice) was replaced
    size_t unchanged = 0;  // already there with the same back end (restoring the same list twice changes nothing)
    size_t skipped = 0;    // back end not current (never forwarded to), or not an IPv4 connection
    size_t removed = 0;    // kMirror: entries for VIP:port whose client address:port was not in the list, deleted
  };
  enum class RestoreMode {
    kAdd,     // create or correct the entries of the list; leave the others
    kMirror,  // also delete every entry for VIP:port not in the list (a standby kept equal to its active peer's map)
  };
  // Installs the table with no back ends (new connections to VIP:port are then left to
  // this host, which refuses them). A table of the same name left by a dispatcher that
  // died is replaced. Errors: InvalidArgument (bad options), Forbidden (no
  // CAP_NET_ADMIN), Unavailable (no nf_tables/conntrack in the kernel, forwarding off),
  // each with nft's or the kernel's own words.
  static Result<std::unique_ptr<NatDatapath>> Create(Options options);
  // Deletes the table. Connections through it then stop being translated (conntrack
  // keeps their entries, but the kernel translates only while some nat chain exists in
  // the namespace): destroy a dispatcher's datapath when it stops dispatching, not to
  // change its settings.
  ~NatDatapath();
  NatDatapath(const NatDatapath&) = delete;
  NatDatapath& operator=(const NatDatapath&) = delete;

  // Makes `backends` (IPv4 only) the current back ends and `slots` the slot table: a new
  // connection goes to backends[slots[<choice> mod slots.size()]]. Every entry of `slots`
  // must index `backends`; a back end with no slot gets no new connections but stays
  // current (its established connections go on). Empty `backends` or `slots`: no new
  // connection is forwarded. On error nothing changed.
  Status Update(std::span<const BackendSpec> backends, std::span<const uint32_t> slots);

  Result<Stats> ReadStats();

  // Established TCP connections to VIP:port that this host NATs (from conntrack), with
  // their back ends.
  Result<std::vector<NatConn>> Connections();

  // Creates conntrack entries for `conns` on this host, as conntrackd does on a takeover:
  // afterwards their packets are NATed to the back end they had, whatever the slot table
  // says. Entries for back ends that are not current are skipped (never forwarded to). An
  // existing entry for the same client address and port with another back end is
  // replaced (a packet that came before Restore() made one, by the choice); one with the
  // same back end is left as it is. Call it before the VIP moves here (a standby kept up
  // to date: kMirror with the active one's full list each time), or right after it (the
  // front ends' lists gathered at takeover). Errors: the first entry the kernel refused
  // (those before it stay).
  Result<RestoreResult> Restore(std::span<const NatConn> conns, RestoreMode mode = RestoreMode::kAdd);

  const Options& options() const { return options_; }
  const std::string& table() const { return table_; }  // "tacc_<name>"

 private:
  NatDatapath(Options options, nft_ctx* nft, nfct_handle* ct, int nl);
  // Runs one nft command buffer (one transaction); its output in *out.
  Status Run(const std::string& commands, std::string* out);
  std::string RulesetText(bool fresh) const;
  bool DropsMidstream() const;
  // Conntrack's TCP entries to VIP:port that are DST_NATed; mu_ held.
  Result<std::vector<NatConn>> DumpLocked(bool established_only);
  // Deletes the entry of client:client_port -> VIP:port (network order address); mu_ held.
  Status ForgetLocked(uint32_t client, uint16_t client_port);

  const Options options_;
  const std::string table_;
  std::mutex mu_;
  nft_ctx* nft_;         // guarded by mu_; owned
  nfct_handle* ct_;      // guarded by mu_; owned
  int nl_;               // guarded by mu_; owned: netfilter netlink socket for reading counters
  uint32_t nl_seq_ = 0;  // guarded by mu_
  // guarded by mu_: the latest Update's back ends (canonical "a.b.c.d", port) and slot
  // table, and every back end ever given (its counter stays in the table, so that its
  // count survives leaving and coming back).
  std::vector<BackendSpec> current_;
  std::vector<uint32_t> slots_;
  std::map<std::string, std::string> known_;  // counter name -> back-end id
  size_t chains_ = 0;                         // b0..b<chains_-1> exist
  bool installed_ = false;                    // the table is there (Create's transaction went through)
};

}  // namespace tacc::frontdoor
