// PlayStats: what `tacc play` measured: per-request latency (LatencyHistogram), status
// codes, bytes each way, errors by kind, approximate (fallback) answers and cache hits
// counted apart, and the same per second of the run for plots (the time series).
//
// One PlayStats per engine thread; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/latency_histogram.h"

namespace tacc::tools {

// How a request can fail without an HTTP answer.
enum class PlayError {
  kConnectRefused,  // the target refused the connection
  kConnectTimeout,  // no connection within the connect timeout
  kTimeout,         // connected, but no whole answer within the request timeout
  kReset,           // the connection was reset
  kClosed,          // the peer closed before the answer was complete
  kBadResponse,     // what came back is not HTTP
  kOther,           // any other socket error
  kDropped,         // never sent: the client's own backlog was full
  kBadUrl,          // never sent: the trace's URL can't be asked for in this mode
};
inline constexpr int kPlayErrorKinds = 9;
std::string_view PlayErrorName(PlayError e);

struct Answer {
  int status = 0;
  uint64_t bytes_in = 0;   // response head and body as read
  uint64_t body_bytes = 0;
  uint64_t bytes_out = 0;  // request as written
  bool approximate = false;  // X-Tacc-Approximate or X-Tacc-Fallback: a fallback answer
  bool cache_hit = false;    // X-Tacc-Cache: hit or variant-hit
};

struct SecondStats {
  uint64_t offered = 0;   // arrivals scheduled in this second
  uint64_t answered = 0;  // HTTP answers completed in this second
  uint64_t errors = 0;    // requests failed in this second (no HTTP answer)
  uint64_t non_2xx = 0;   // answers with a status >= 400
  uint64_t approximate = 0;
  uint64_t cache_hits = 0;
  uint64_t bytes_in = 0;
  uint64_t in_flight_max = 0;
  LatencyHistogram latency{20};  // coarse: 20 buckets a decade
};

class PlayStats {
 public:
  void Offered(double t_s);
  void Answered(double t_s, double latency_us, const Answer& a);
  void Failed(double t_s, PlayError e, uint64_t bytes_out);
  void InFlight(double t_s, uint64_t n);
  void Merge(const PlayStats& other);

  uint64_t offered() const { return offered_; }
  uint64_t answered() const { return answered_; }
  uint64_t failed() const { return failed_; }
  uint64_t approximate() const { return approximate_; }
  uint64_t cache_hits() const { return cache_hits_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t body_bytes() const { return body_bytes_; }
  uint64_t bytes_out() const { return bytes_out_; }
  const std::map<int, uint64_t>& statuses() const { return statuses_; }
  const std::array<uint64_t, kPlayErrorKinds>& errors() const { return errors_; }
  const LatencyHistogram& latency() const { return latency_; }
  const std::vector<SecondStats>& seconds() const { return seconds_; }

 private:
  SecondStats& At(double t_s);

  uint64_t offered_ = 0, answered_ = 0, failed_ = 0, approximate_ = 0, cache_hits_ = 0;
  uint64_t bytes_in_ = 0, body_bytes_ = 0, bytes_out_ = 0;
  std::map<int, uint64_t> statuses_;
  std::array<uint64_t, kPlayErrorKinds> errors_{};
  LatencyHistogram latency_;
  std::vector<SecondStats> seconds_;
};

}  // namespace tacc::tools
