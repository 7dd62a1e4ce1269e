// ClusterKey: the shared secret that makes a set of processes one cluster.
//
// Every cluster TCP connection is proven with it before any other message
// (wire/handshake.h), and every beacon datagram carries a MAC made with it
// (wire/datagram_seal.h). Nobody without the key can register a worker, receive
// tasks, or move the cluster with forged beacons. The key is 32 random bytes, kept as
// 64 hex digits in a file that only its owner may read (mode 0600); `tacc up` creates
// one in its run directory, `tacc key generate` makes one for an operator to copy to
// every host.
//
// Thread safety: immutable after construction; every method is const and safe to call
// from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc {

class ClusterKey {
 public:
  static constexpr size_t kBytes = 32;
  static constexpr size_t kMacBytes = 32;
  using Mac = std::array<uint8_t, kMacBytes>;

  // Reads a key file. InvalidArgument if it is not 64 hex digits, or if its owner is
  // not this user or group/others may read or write it (a leaked key is no key).
  static Result<ClusterKey> Load(const std::string& path);
  // A fresh random key.
  static Result<ClusterKey> Generate();
  // Writes a fresh key to `path` with mode 0600 (parent directories 0700); fails with
  // Unavailable if the file exists (never overwrites a cluster's key).
  static Result<ClusterKey> CreateFile(const std::string& path);
  // Load if `path` exists, else CreateFile.
  static Result<ClusterKey> LoadOrCreate(const std::string& path);
  // A key from raw bytes (tests).
  static ClusterKey FromBytes(const std::array<uint8_t, kBytes>& bytes) { return ClusterKey(bytes); }

  // HMAC-SHA256 over `label` and each part, each length-prefixed, so that no two
  // different (label, parts) lists have the same input. `label` separates the uses of
  // the key (handshake proofs, beacons, subscriptions) so a MAC made for one use is
  // never valid for another.
  Mac Sign(std::string_view label, std::initializer_list<std::string_view> parts) const;
  // Constant-time check of `mac` against Sign(label, parts).
  bool Verify(std::string_view mac, std::string_view label, std::initializer_list<std::string_view> parts) const;

  // First 8 hex digits of SHA-256(key): names a key in logs without revealing it.
  std::string Fingerprint() const;
  // The 64-hex-digit text form (what the key file holds).
  std::string ToHex() const;

 private:
  explicit ClusterKey(const std::array<uint8_t, kBytes>& bytes);
  std::array<uint8_t, kBytes> bytes_{};
  // SHA-256 states with the key's inner and outer HMAC pads already absorbed: a MAC then
  // costs the message's hashing only, not the key's two blocks and OpenSSL's algorithm
  // lookup (a manager checks 20,000 load datagrams a second). Shared by copies.
  struct HmacPads;
  std::shared_ptr<const HmacPads> pads_;
};

// n bytes from the system's CSPRNG (OpenSSL RAND_bytes).
std::string RandomBytes(size_t n);
// Timing-independent comparison.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace tacc
