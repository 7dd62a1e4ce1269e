// Beacon splitting: a directory of any size (10,000 workers and more) as datagrams
// that each fit under the path MTU (beacon.max_datagram_bytes).
//
// The manager's beacon (wire::Beacon) becomes one header — the beacon without its
// entries, with `parts` set — and BeaconPart messages carrying the entries (class
// status, front ends, workers in a compact form: strings by index into a per-part
// table, load in thousandths), each part self-contained and tagged (epoch, seq, index).
// Workers need only the header (the manager's address and epoch); front ends assemble
// every part of a seq into the whole Beacon again. A beacon with a lost part is never
// delivered half: receivers keep the last complete one until the next period's.
// docs/design.md ("Beacons for 10,000 workers") says why this and not deltas or a fetch
// over TCP.
//
// SplitBeacon and AppendPart are pure functions; BeaconAssembler is a value type with
// no I/O and no clock (one per receiver; not thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::wire {

// Most parts one beacon may have (a bound on what a receiver buffers: ~11 MB at 1,400
// bytes a part, some 700,000 workers).
constexpr uint32_t kMaxBeaconParts = 8192;

struct SplitBeacon {
  Beacon header;                  // no entries; parts = parts.size()
  std::vector<BeaconPart> parts;  // each serializes to at most max_body_bytes
  size_t dropped = 0;             // entries too big for any part (a worker id of ~1 KB)
};

// Packs a beacon's entries into parts as they come, so that a manager can pack its
// directory without first building a WorkerInfo per worker. Entries are packed greedily
// in the order given; keep workers of a class and host together (the manager's id
// order does) so each part's string table stays small.
class BeaconPacker {
 public:
  explicit BeaconPacker(size_t max_body_bytes);
  void AddClass(const ClassStatus& c);
  void AddFrontend(const FrontendInfo& f);
  // `process_host`: where the process runs (usually `host`, the address's host).
  void AddWorker(std::string_view id, std::string_view worker_class, std::string_view host, uint32_t port, uint32_t pid, double load,
                 std::string_view process_host);
  // `header`: the beacon's own fields (its entries, if any, are ignored). Tags every
  // part with its epoch and seq. InvalidArgument as for Split.
  Result<SplitBeacon> Finish(Beacon header);

 private:
  static constexpr uint32_t kNoString = ~0u;
  bool Fits(size_t bytes);  // false (after starting a new part if useful): try again
  uint32_t IndexOf(std::string_view s, int slot, size_t* extra, std::vector<std::string_view>* fresh);
  void Reset();
  void Flush();

  size_t budget_;
  BeaconPart current_;
  std::unordered_map<std::string, uint32_t> strings_;  // current part's table
  std::array<uint32_t, 3> last_{};                     // last index used: class, host, process host
  size_t used_ = 0;
  bool empty_ = true;
  size_t dropped_ = 0;
  std::vector<BeaconPart> parts_;
};

// Adds every entry of `beacon` to `packer`.
void AddEntries(const Beacon& beacon, BeaconPacker* packer);

// Splits `beacon` so that the header and every part serialize to at most
// `max_body_bytes`. InvalidArgument if even the header does not fit or more than
// kMaxBeaconParts would be needed.
// (Takes the beacon by value: pass it with std::move to avoid copying the entries.)
Result<SplitBeacon> Split(Beacon beacon, size_t max_body_bytes);

// Appends the entries of `part` to `beacon` (expanding compact workers). InvalidArgument
// if the part refers to strings it does not carry.
Status AppendPart(const BeaconPart& part, Beacon* beacon);

// Rebuilds whole beacons from headers and parts that arrive in any order, duplicated,
// or not at all. A beacon is complete when its header and all its parts are in; then
// it is returned once, and incomplete beacons of the same epoch with a lower seq are
// abandoned (a newer one made them moot). At most `max_pending` beacons are held
// incomplete; beyond that the oldest is abandoned.
class BeaconAssembler {
 public:
  struct Stats {
    uint64_t completed = 0;
    uint64_t abandoned = 0;   // incomplete beacons given up (a part lost)
    uint64_t duplicates = 0;  // header or part already held
    uint64_t invalid = 0;     // part counts that disagree, indices out of range, bad parts
  };

  explicit BeaconAssembler(size_t max_pending = 4) : max_pending_(max_pending) {}

  std::optional<Beacon> AddHeader(Beacon header);
  std::optional<Beacon> AddPart(BeaconPart part);

  const Stats& stats() const { return stats_; }
  size_t pending() const { return pending_.size(); }

 private:
  using Key = std::pair<uint64_t, uint64_t>;  // (epoch, seq)
  struct Pending {
    std::optional<Beacon> header;
    std::vector<std::optional<BeaconPart>> parts;  // sized once the count is known
    uint32_t received = 0;
    uint64_t arrival = 0;  // order of first sight, for eviction
  };
  Pending* Slot(const Key& key, uint32_t parts);
  std::optional<Beacon> TryComplete(const Key& key);
  void Drop(const Key& key, bool invalid);

  size_t max_pending_;
  std::map<Key, Pending> pending_;
  uint64_t arrivals_ = 0;
  Stats stats_;
};

}  // namespace tacc::wire
