// BeaconSender: the manager's beacons — what goes out, when, and to whom.
//
// Every beacon.interval_ms (a "tick") the sender asks its BuildFn for the directory,
// stamps it (epoch from the builder; seq, tick, extra from the sender), splits it into
// a header and parts under beacon.max_datagram_bytes (wire/beacon_split.h), seals each
// with the cluster key (wire/datagram_seal.h) and sends the header, then the parts in
// bursts of kBurst with a millisecond between bursts so that receivers' socket buffers
// keep up with a directory of 10,000 workers. SendSoon() asks for an extra beacon
// between ticks (a worker came or went); extras are coalesced to at most one per tenth
// of a period, so a thousand registrations in a row cost a few beacons, not a thousand.
//
// Multicast mode sends to beacon.group:beacon.port. Unicast mode binds
// cluster.host:beacon.port and sends to the subscribers in its SubscriberTable: only
// authenticated, fresh subscriptions, only to the datagram's real source address, up
// to beacon.max_subscribers; header-only subscribers (workers) get only headers. An
// unauthenticated datagram is never answered.
//
// Thread safety: none; lives on the manager's io_context. SubscriberTable is a plain
// value type with times passed in (tests use a fake clock).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/cluster_key.h"
#include "common/config.h"
#include "sns/beacon_counters.h"
#include "wire/beacon_split.h"
#include "wire/cluster.pb.h"
#include "wire/datagram_socket.h"

namespace tacc::sns {

class SubscriberTable {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::string cluster;
    int64_t freshness_ms = 5000;
    Clock::duration ttl = std::chrono::seconds(5);
    size_t max_subscribers = 4096;
  };
  enum class Verdict {
    kAdded,
    kRenewed,
    kFull,             // beacon.max_subscribers reached
    kUnauthenticated,  // no valid MAC
    kStale,            // outside the freshness window
    kReplayed,         // send time not newer than the last one from this source
    kSourceMismatch,   // reply_to is not the datagram's source: never reflect to a third party
    kMalformed,
    kOtherCluster,
    kUnwanted,  // not a subscription
  };
  struct Target {
    wire::udp::endpoint endpoint;
    bool header_only = false;
  };

  SubscriberTable(const ClusterKey& key, Options options) : key_(key), options_(std::move(options)) {}

  // One datagram from `from` at wall-clock `now_unix_ms` and steady time `now`.
  Verdict OnDatagram(std::string_view bytes, const wire::udp::endpoint& from, int64_t now_unix_ms, Clock::time_point now);
  // Live subscribers (expired ones are dropped first).
  std::vector<Target> Live(Clock::time_point now);
  size_t size() const { return subs_.size(); }

 private:
  struct Sub {
    Clock::time_point expires;
    int64_t last_sent_unix_ms = 0;
    bool header_only = false;
  };
  ClusterKey key_;
  Options options_;
  std::map<wire::udp::endpoint, Sub> subs_;
};

const char* ToString(SubscriberTable::Verdict v);

class BeaconSender {
 public:
  using Clock = std::chrono::steady_clock;
  // The directory as of now: adds the entries to the packer, returns the header fields.
  // The sender sets seq, tick, extra, interval_ms and datagrams_refused.
  using BuildFn = std::function<wire::Beacon(wire::BeaconPacker& entries)>;
  // Parts sent back to back before a millisecond's pause.
  static constexpr int kBurst = 16;

  BeaconSender(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key, BuildFn build);
  ~BeaconSender();

  // Opens the socket. Unicast mode binds cluster.host:`port` (default: beacon.port; 0
  // in tests for any free port). Unavailable if it cannot.
  Status Open(std::optional<int> port = std::nullopt);
  void Start();
  void Stop();
  // An extra beacon as soon as the coalescing allows.
  void SendSoon();

  uint64_t beacons_sent() const { return seq_; }
  uint16_t local_port() const;  // unicast: the subscription port
  size_t subscribers() const { return subscribers_.size(); }

  // The sealed datagrams of one beacon (header first), as Send would make them. Also
  // counts entries that fit no datagram. For tests and the benchmark.
  Result<std::vector<std::string>> Seal(wire::Beacon beacon);
  size_t max_body_bytes() const;

 private:
  boost::asio::awaitable<void> Loop();
  boost::asio::awaitable<void> SendOne(bool extra);
  boost::asio::awaitable<void> SubscriptionLoop();
  void SendTo(const std::string& bytes, const wire::udp::endpoint& to);
  Result<std::vector<std::string>> SealSplit(Result<wire::SplitBeacon> split);

  boost::asio::io_context& ctx_;
  Config config_;
  ClusterKey key_;
  BuildFn build_;
  std::optional<wire::udp::socket> socket_;
  wire::udp::endpoint group_;
  SubscriberTable subscribers_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer pace_;
  bool running_ = false;
  bool extra_wanted_ = false;
  bool waiting_ = false;
  uint64_t seq_ = 0;
  uint64_t tick_ = 0;
  Clock::time_point last_send_{};
  std::shared_ptr<bool> alive_;
  RefusalLog refused_log_, full_log_, dropped_log_;
};

}  // namespace tacc::sns
