// Backend: one server behind the front door (a tacc front end, or any TCP/HTTP server
// named in frontdoor.backends), as the dispatcher knows it.
//
// The dispatcher's view of its back ends is soft state (ARCHITECTURE.md "Front door"):
// rebuilt from the manager's beacons and the static list, and from its own health
// checks; nothing here is persisted. A back end's identity is its "host:port" string:
// policies key their memory (LARD's target map, affinity, the hash ring) by it, so a
// front end restarted on the same address keeps its place.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tacc::frontdoor {

using MacAddress = std::array<uint8_t, 6>;

// A back end as frontdoor.backends names it: "host:port" or "host:port*weight".
// host is a numeric IPv4 or IPv6 address ("[::1]:80" for IPv6): a dispatcher never
// resolves names, so what it forwards to is exactly what was configured.
struct BackendSpec {
  std::string host;
  uint16_t port = 0;
  double weight = 1.0;
  std::string Id() const;  // "host:port" ("[v6]:port")
};
Result<BackendSpec> ParseBackendSpec(std::string_view text);

enum class Health {
  kUp,       // in rotation
  kTesting,  // failed (health_fall in a row): out of rotation, checked until health_rise passes
};
const char* ToString(Health h);

// Where a back end came from; a back end may be both (then it stays while either names it).
enum BackendSource : uint8_t {
  kFromConfig = 1,
  kFromBeacon = 2,
};

struct Backend {
  BackendSpec spec;
  uint8_t sources = 0;          // BackendSource bits
  Health health = Health::kUp;
  double load = -1;             // the front end's own load from the beacons; < 0: unknown
  std::optional<MacAddress> mac;  // dsr: where frames for it go (resolved by the dispatcher)
};

}  // namespace tacc::frontdoor
