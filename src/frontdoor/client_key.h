// ClientKey: a client address as 16 bytes, the key the policies remember clients by
// (affinity) and hash (source hash). An IPv4 client and the same client seen on a
// dual-stack socket as "::ffff:a.b.c.d" give one key. The port is never part of it: one
// client's connections share a key. Thread safety: pure functions.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <string_view>

#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

using ClientKey = std::array<uint8_t, 16>;

inline ClientKey ClientKeyOf(const boost::asio::ip::address& a) {
  if (a.is_v6()) return a.to_v6().to_bytes();  // the scope id is not part of who the client is
  ClientKey k{};
  k[10] = k[11] = 0xff;
  auto v4 = a.to_v4().to_bytes();
  for (size_t i = 0; i < 4; ++i) k[12 + i] = v4[i];
  return k;
}

inline std::string_view BytesOf(const ClientKey& k) { return {reinterpret_cast<const char*>(k.data()), k.size()}; }

// The hash-table hasher for ClientKeys, keyed with a per-process secret so that a
// client choosing its addresses cannot pile them into one bucket.
struct ClientKeyHash {
  uint64_t seed = 0;
  size_t operator()(const ClientKey& k) const { return StableHash(BytesOf(k), seed); }
};

}  // namespace tacc::frontdoor
