// ClusterAddress: puts the cluster address on this host's interface when this dispatcher
// becomes the active one of a hot-standby pair, and takes it off when it stops being so.
//
// Claim() adds frontdoor.address as a /32 (IPv4) to the interface (`ip addr add`) and
// announces it with gratuitous ARP (three requests for the address from the interface's
// MAC, from an AF_PACKET socket), so the clients, the router and, in nat mode, the front
// ends (whose route to clients goes via the cluster address) send to this host at once
// instead of waiting for their ARP caches to expire. Release() removes the address.
// An address that is already there is fine (Claim is idempotent).
#pragma once

#include <string>

#include "common/status.h"

namespace tacc::frontdoor {

class ClusterAddress {
 public:
  // `interface` "": the interface of the route to `address`'s network (or the first up
  // non-loopback one).
  ClusterAddress(std::string address, std::string interface) : address_(std::move(address)), interface_(std::move(interface)) {}
  ~ClusterAddress();  // releases a held address

  Status Claim();
  Status Release();
  // Removes the address if this host has it from before (a dispatcher killed -9 while
  // active), whether or not this object claimed it: a standby starts clean.
  Status ReleaseStale();
  bool held() const { return held_; }
  const std::string& interface() const { return interface_; }

  // Sends `count` gratuitous ARP requests for `ipv4` out of `interface`.
  static Status AnnounceArp(const std::string& interface, const std::string& ipv4, int count);
  // The interface whose IPv4 network holds `ipv4`, if any.
  static std::string InterfaceFor(const std::string& ipv4);

 private:
  std::string address_, interface_;
  bool held_ = false;
};

}  // namespace tacc::frontdoor
