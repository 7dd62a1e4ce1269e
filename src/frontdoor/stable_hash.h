// Stable hashes for the front door's policies: the same bytes give the same 64-bit value
// in every build, on every machine and in every process, so that two dispatchers (or one
// restarted) choose alike (source hash, the bounded-load ring, the Maglev table). Never
// std::hash, whose value for strings is not specified and may change between builds.
//
// StableHash is SipHash-2-4 (Aumasson & Bernstein 2012): with a secret seed it is also a
// keyed hash that hostile input (request targets, client addresses) cannot steer into one
// hash-table bucket. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace tacc::frontdoor {

// SipHash-2-4 of `data` under the 128-bit key (k0, k1), bytes read little-endian
// whatever the host's byte order.
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data);

// The hash policies use: SipHash-2-4 keyed by `seed` (0: the unkeyed hash every
// dispatcher shares).
inline uint64_t StableHash(std::string_view data, uint64_t seed = 0) { return SipHash24(seed, seed ^ 0x7461636366726f6eULL, data); }

// A bijective 64-bit finalizer (MurmurHash3's fmix64): spreads the bits of an integer
// key, e.g. to combine two hashes.
constexpr uint64_t Mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A hash mapped into the open interval (0, 1) (52 bits and a half, so that neither end
// is reachable), e.g. for rendezvous scores.
constexpr double UnitInterval(uint64_t h) { return (static_cast<double>(h >> 12) + 0.5) * 0x1.0p-52; }

}  // namespace tacc::frontdoor
