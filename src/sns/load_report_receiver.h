// LoadReportReceiver: the manager's end of the workers' load reports, as datagrams.
//
// Each worker sends its load every worker.report_ms as a sealed LoadAnnouncement
// datagram (wire/datagram_seal.h, kind DATAGRAM_LOAD_REPORT) to the manager's cluster
// address: the port of its TCP listener, over UDP. That is the paper's "load announcement
// packet" (SNS §4.6), and what lets one manager take 10,000 workers' reports: a batch of
// datagrams is one wake-up and one recvmmsg call, where a report on each worker's TCP
// connection costs a wake-up and two recv calls (docs/design.md, "The manager at 10,000
// workers"). Registration, draining and liveness stay on the TCP connection.
//
// Judge() checks one datagram: sealed with the cluster key, fresh (beacon.freshness_ms),
// a LoadAnnouncement. The Sink (the manager's WorkerDirectory::Announce) then finds the
// worker by its token and refuses a sequence number already seen. A refused datagram
// changes nothing, is counted (tacc_load_datagrams_*_total) and logged at most once per
// ten seconds.
//
// Thread safety: none; lives on the manager's io_context (one thread).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/cluster_key.h"
#include "common/config.h"
#include "common/metrics.h"
#include "common/status.h"
#include "sns/worker_directory.h"
#include "wire/cluster.pb.h"

namespace tacc::sns {

struct LoadReportCounters {
  Counter& taken = Metrics().counter("tacc_load_datagrams_taken_total", "Load reports taken from workers' datagrams");
  Counter& unauthenticated = Metrics().counter("tacc_load_datagrams_unauthenticated_total",
                                               "Load datagrams refused for want of a valid MAC with the cluster key");
  Counter& stale = Metrics().counter("tacc_load_datagrams_stale_total",
                                     "Authentic load datagrams refused as sent outside beacon.freshness_ms");
  Counter& replayed = Metrics().counter("tacc_load_datagrams_replayed_total",
                                        "Authentic load datagrams refused as already seen (sequence number not newer)");
  Counter& unknown_token = Metrics().counter("tacc_load_datagrams_unknown_token_total",
                                             "Authentic load datagrams for no registered worker (it left or was superseded)");
  Counter& malformed = Metrics().counter("tacc_load_datagrams_malformed_total",
                                         "Datagrams on the manager's port that do not parse, are another kind or cluster's, or carry a bad load");

  // Refused as suspect (what the manager's beacons add to datagrams_refused); a report
  // for a worker that just left is not suspect.
  uint64_t Suspect() const { return unauthenticated.value() + stale.value() + replayed.value() + malformed.value(); }
};
LoadReportCounters& LoadReportStats();

class LoadReportReceiver {
 public:
  enum class Verdict {
    kTaken,
    kUnknownToken,
    kReplayed,
    kBadLoad,
    kMalformed,
    kOtherCluster,
    kUnwanted,         // another kind of datagram
    kUnauthenticated,  // no valid MAC
    kStale,            // outside the freshness window
  };
  using Sink = std::function<WorkerDirectory::Announcement(const wire::LoadAnnouncement&)>;

  // Checks one datagram received at wall-clock `now_unix_ms`; on kTaken (here: "good to
  // hand to the sink") fills *out.
  static Verdict Judge(const ClusterKey& key, std::string_view cluster, int64_t freshness_ms, std::string_view bytes,
                       int64_t now_unix_ms, wire::LoadAnnouncement* out);

  // `key` must outlive the receiver.
  LoadReportReceiver(boost::asio::io_context& ctx, const Config& config, const ClusterKey& key, Sink sink);
  ~LoadReportReceiver();

  // Binds host:port (UDP). Unavailable if the port is taken.
  Status Open(const std::string& host, uint16_t port);
  void Start();
  void Stop();

  // Judges one datagram and hands it on; counts and logs a refusal.
  Verdict Handle(std::string_view bytes, const boost::asio::ip::udp::endpoint& from, int64_t now_unix_ms);

 private:
  boost::asio::awaitable<void> ReceiveLoop();

  boost::asio::io_context& ctx_;
  const Config& config_;
  const ClusterKey& key_;
  Sink sink_;
  boost::asio::ip::udp::socket socket_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

const char* ToString(LoadReportReceiver::Verdict v);

}  // namespace tacc::sns
