// BeaconListener: hears the manager's beacons, the only way components find it.
//
// Multicast mode joins beacon.group; unicast mode binds an ephemeral UDP port and keeps
// an authenticated subscription alive at each seed (beacon.unicast_seeds) so the
// manager sends beacons there. Every datagram must carry a valid MAC made with the
// cluster key, a send time within beacon.freshness_ms, and (for beacons) a sequence
// number newer than any already taken from that manager epoch; anything else is
// refused, counted (BeaconCounters), logged at a limited rate, and changes nothing.
// Beacons come as a header and parts (wire/beacon_split.h): a full listener hands out
// each beacon once all its parts are in; a header-only listener (workers, the
// manager's watch for a second manager) hands out headers (no entries) and skips the
// parts without checking them.
//
// BeaconReceiver is the judging part alone (no socket, wall time passed in) so it can
// be tested with a fake clock; BeaconListener adds the socket and the subscriptions.
// A beacon handed out is authentic and fresh, not proof that its manager is alive: who
// acts on one confirms it over TCP first (sns/manager_follower.h, Manager).
//
// Thread safety: none; each lives on one io_context. The key is copied.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "sns/beacon_counters.h"
#include "wire/beacon_split.h"
#include "wire/cluster.pb.h"
#include "wire/datagram_socket.h"

namespace tacc::sns {

class BeaconReceiver {
 public:
  struct Options {
    std::string cluster;
    int64_t freshness_ms = 5000;
    bool header_only = false;
  };
  enum class Verdict {
    kBeacon,    // *out holds a whole beacon (or a header, header-only)
    kPending,   // part of a beacon still being assembled
    kUnwanted,  // a part, to a header-only receiver
    kOtherCluster,
    kMalformed,
    kUnauthenticated,  // no valid MAC
    kStale,            // outside the freshness window
    kReplayed,         // seq not newer than one already taken, or a duplicate
  };

  BeaconReceiver(const ClusterKey& key, Options options);

  // Judges one datagram received at wall-clock `now_unix_ms`.
  Verdict OnDatagram(std::string_view bytes, int64_t now_unix_ms, wire::Beacon* out);
  const wire::BeaconAssembler::Stats& assembly() const { return assembler_.stats(); }

 private:
  uint64_t& Delivered(uint64_t epoch);  // highest seq handed out for this epoch

  ClusterKey key_;
  Options options_;
  wire::BeaconAssembler assembler_;
  std::vector<std::pair<uint64_t, uint64_t>> delivered_;  // (epoch, seq), a few epochs
};

const char* ToString(BeaconReceiver::Verdict v);

class BeaconListener {
 public:
  using Handler = std::function<void(const wire::Beacon&)>;
  struct Options {
    bool header_only = false;
    // Unicast mode: seeds not to subscribe at (a manager's own address).
    std::vector<std::string> skip_seeds;
  };

  // Opens the socket (joins the group, or binds the unicast port). The key must be the
  // cluster's (ClusterKey::Load(config.KeyFile())).
  static Result<std::unique_ptr<BeaconListener>> Open(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key,
                                                      Handler handler, Options options);
  static Result<std::unique_ptr<BeaconListener>> Open(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key,
                                                      Handler handler) {
    return Open(ctx, config, key, std::move(handler), Options{});
  }
  ~BeaconListener();
  void Start();
  void Stop();
  // Unicast mode: the seeds this listener subscribes at (after skip_seeds).
  size_t seed_count() const { return seeds_.size(); }

 private:
  BeaconListener(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler, Options options,
                 wire::udp::socket socket);
  boost::asio::awaitable<void> ReceiveLoop();
  boost::asio::awaitable<void> SubscribeLoop();

  boost::asio::io_context& ctx_;
  Config config_;
  ClusterKey key_;
  Handler handler_;
  Options options_;
  BeaconReceiver receiver_;
  wire::udp::socket socket_;
  std::vector<wire::udp::endpoint> seeds_;
  std::shared_ptr<bool> alive_;
  RefusalLog forged_log_, stale_log_, replay_log_, malformed_log_;
  uint64_t incomplete_seen_ = 0;
};

}  // namespace tacc::sns
