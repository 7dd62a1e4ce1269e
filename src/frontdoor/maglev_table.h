// MaglevTable: the slot table the kernel data paths (nat's nftables map, dsr's tc-BPF
// array) choose back ends from, since they cannot call a PickPolicy per packet: a new
// connection's hash picks a slot, the slot names a back end. Weighted Maglev hashing
// (Eisenbud et al., NSDI'16, with Envoy's weighting):
//   - every back end has its own permutation of the slots (offset and skip from stable
//     hashes of its id); in turns, each back end takes its next preferred free slot;
//   - a back end takes a turn in proportion to its weight, so its share of the slots is
//     its share of the weights (to about one slot);
//   - a back end leaving disturbs little beyond its own slots, so most connections keep
//     their back end when the set changes.
// The table depends only on the ids and weights, not on their order in the input (they
// are sorted by id inside): two dispatchers with the same back ends build the same table,
// which is what lets a standby take over established connections with no state copied
// (frontdoor.failover_state = stateless).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tacc::frontdoor {

struct MaglevEntry {
  std::string id;       // the back end's "host:port"
  double weight = 1.0;  // <= 0 (or not a number): the back end gets no slot
};

class MaglevTable {
 public:
  static constexpr uint32_t kDefaultSize = 65537;

  // Slot -> index into `backends`. `size` should be prime and well above the number of
  // back ends (Maglev suggests 100x); a size that is not prime is rounded up to the next
  // prime (each back end's permutation must reach every slot), so the table's size is
  // the one the data path must use. Empty when no back end has a positive weight. Ids
  // should be distinct (a duplicate is treated as another back end of the same name).
  static std::vector<uint32_t> Build(std::span<const MaglevEntry> backends, uint32_t size = kDefaultSize);

  static bool IsPrime(uint32_t n);
  static uint32_t NextPrime(uint32_t n);  // the smallest prime >= n (n <= 4294967291)
};

}  // namespace tacc::frontdoor
