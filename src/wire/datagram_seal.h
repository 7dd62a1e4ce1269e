// Datagram sealing: every UDP datagram of a cluster (beacon headers and parts, unicast
// subscriptions) is authenticated with the cluster key and stamped with the sender's
// wall-clock time.
//
// Seal() wraps a message's bytes in a SealedDatagram whose MAC covers the cluster name,
// the kind, the send time and the body, under a label of its own per kind (a beacon
// part's MAC is no good as a subscription's). Unseal() checks, in this order, that the
// bytes parse, that the datagram is of this cluster (other clusters may share a
// multicast group; theirs are not an attack), that its kind is one the caller wants,
// that the MAC is right, and that the send time is within `freshness_ms` of the
// receiver's clock; only then does it hand out the body. Replays inside the freshness
// window are the caller's to catch (beacon sequence numbers, subscription times).
//
// Pure functions, no I/O, no clock of their own (times are passed in): safe from any
// thread and testable with a fake clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/cluster_key.h"
#include "wire/cluster.pb.h"

namespace tacc::wire {

// Bytes that Seal() adds around a body of up to 64 KiB for this cluster name: a body of
// (max datagram − SealOverhead) bytes always makes a datagram of at most max.
size_t SealOverhead(std::string_view cluster);

// The datagram to send: `body` (a serialized message of `kind`) sealed with `key`.
std::string Seal(const ClusterKey& key, std::string_view cluster, DatagramKind kind, std::string_view body, int64_t sent_unix_ms);

enum class UnsealOutcome {
  kOk,
  kMalformed,     // not a SealedDatagram, or no kind
  kOtherCluster,  // another cluster's datagram: dropped, not an attack
  kUnwanted,      // a kind the caller did not ask for (MAC not checked)
  kBadMac,        // no MAC, or not made with this cluster's key: forged or misconfigured
  kStale,         // send time outside the freshness window: a replay, or clocks apart
};
const char* ToString(UnsealOutcome o);

struct Unsealed {
  DatagramKind kind = DATAGRAM_KIND_UNSPECIFIED;
  int64_t sent_unix_ms = 0;
  std::string body;
};

// Bit mask of the kinds a receiver takes: KindBit(DATAGRAM_BEACON_HEADER) | ...
constexpr uint32_t KindBit(DatagramKind k) { return 1u << static_cast<int>(k); }
constexpr uint32_t kAllKinds = ~0u;

// Checks `bytes` as described above; on kOk fills *out.
UnsealOutcome Unseal(const ClusterKey& key, std::string_view cluster, std::string_view bytes, int64_t now_unix_ms, int64_t freshness_ms,
                     uint32_t wanted_kinds, Unsealed* out);

// A receiver's own verdict for a datagram Unseal() refused (`o` is not kOk). `Verdict`
// is the receiver's enum; it names the five refusals kMalformed, kOtherCluster,
// kUnwanted, kUnauthenticated (no valid MAC) and kStale.
template <typename Verdict>
Verdict RefusalOf(UnsealOutcome o) {
  switch (o) {
    case UnsealOutcome::kOtherCluster:
      return Verdict::kOtherCluster;
    case UnsealOutcome::kUnwanted:
      return Verdict::kUnwanted;
    case UnsealOutcome::kBadMac:
      return Verdict::kUnauthenticated;
    case UnsealOutcome::kStale:
      return Verdict::kStale;
    case UnsealOutcome::kOk:  // not a refusal: a caller's bug, judged the safe way
    case UnsealOutcome::kMalformed:
      break;
  }
  return Verdict::kMalformed;
}

// Wall-clock milliseconds since the Unix epoch (what Seal stamps and Unseal compares).
int64_t NowUnixMs();

}  // namespace tacc::wire
