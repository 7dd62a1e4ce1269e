// BeaconCounters: the counters of the beacon paths (sending, receiving, subscriptions),
// named in one place, and the rate-limited log of refused datagrams.
//
// A refused datagram (no valid MAC, stale, replayed, malformed, a subscription refused)
// changes nothing, is counted here, and is logged at most once per ten seconds per
// reason with how many were suppressed meanwhile, so a flood cannot flood the log.
//
// Thread safety: counters are atomic; RefusalLog::Note is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/metrics.h"

namespace tacc::sns {

struct BeaconCounters {
  // Receiving (every process that listens to beacons; the manager too).
  Counter& received = Metrics().counter("tacc_beacons_received_total", "Whole beacons received (header and every part)");
  Counter& unauthenticated = Metrics().counter("tacc_beacon_datagrams_unauthenticated_total",
                                               "Datagrams refused for want of a valid MAC with the cluster key (forged, or another key)");
  Counter& stale = Metrics().counter("tacc_beacon_datagrams_stale_total",
                                     "Authentic datagrams refused as sent outside beacon.freshness_ms (replayed later, or clocks apart)");
  Counter& replayed =
      Metrics().counter("tacc_beacon_datagrams_replayed_total", "Authentic datagrams refused as already seen (sequence number not newer)");
  Counter& malformed = Metrics().counter("tacc_beacon_datagrams_malformed_total", "Datagrams on the beacon port that do not parse");
  Counter& other_cluster =
      Metrics().counter("tacc_beacon_datagrams_other_cluster_total", "Datagrams of another cluster on the same group (dropped)");
  Counter& incomplete =
      Metrics().counter("tacc_beacons_incomplete_total", "Beacons given up because a part never arrived (the previous one stays in force)");
  // Sending (the manager).
  Counter& sent = Metrics().counter("tacc_beacons_sent_total", "Beacons sent (periodic and extra)");
  Counter& datagrams_sent =
      Metrics().counter("tacc_beacon_datagrams_sent_total", "Beacon datagrams sent (headers and parts, to every destination)");
  Counter& bytes_sent = Metrics().counter("tacc_beacon_bytes_sent_total", "Bytes of beacon datagrams sent");
  Counter& late = Metrics().counter("tacc_beacons_late_total", "Periodic beacons sent more than a tenth of a period after their tick");
  Counter& entries_dropped =
      Metrics().counter("tacc_beacon_entries_dropped_total", "Directory entries too big for any datagram, left out of beacons");
  Counter& send_errors = Metrics().counter("tacc_beacon_send_errors_total", "Beacon datagrams the kernel refused to send");
  // Unicast subscriptions (the manager).
  Counter& subscriptions_refused =
      Metrics().counter("tacc_beacon_subscriptions_refused_total",
                        "Subscriptions refused: no valid MAC, stale, replayed, source not the reply address, or the list full");

  // Datagrams refused as suspect (what beacons report as datagrams_refused).
  uint64_t Suspect() const {
    return unauthenticated.value() + stale.value() + replayed.value() + malformed.value() + subscriptions_refused.value();
  }
};
BeaconCounters& BeaconStats();

// Logs "<what> from <who>" as a warning at most once per `every` per instance.
class RefusalLog {
 public:
  explicit RefusalLog(std::chrono::seconds every = std::chrono::seconds(10)) : every_(every) {}
  void Note(const std::string& what, const std::string& who);

 private:
  std::mutex mu_;
  std::chrono::seconds every_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

}  // namespace tacc::sns
