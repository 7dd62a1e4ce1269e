#include "tools/play_stats.h"

#include <algorithm>

namespace tacc::tools {

std::string_view PlayErrorName(PlayError e) {
  switch (e) {
    case PlayError::kConnectRefused:
      return "connect_refused";
    case PlayError::kConnectTimeout:
      return "connect_timeout";
    case PlayError::kTimeout:
      return "timeout";
    case PlayError::kReset:
      return "reset";
    case PlayError::kClosed:
      return "closed";
    case PlayError::kBadResponse:
      return "bad_response";
    case PlayError::kOther:
      return "other";
    case PlayError::kDropped:
      return "dropped";
    case PlayError::kBadUrl:
      return "bad_url";
  }
  return "other";
}

SecondStats& PlayStats::At(double t_s) {
  size_t i = t_s <= 0 ? 0 : static_cast<size_t>(t_s);
  if (i >= seconds_.size()) seconds_.resize(i + 1);
  return seconds_[i];
}

void PlayStats::Offered(double t_s) {
  ++offered_;
  ++At(t_s).offered;
}

void PlayStats::Answered(double t_s, double latency_us, const Answer& a) {
  ++answered_;
  ++statuses_[a.status];
  bytes_in_ += a.bytes_in;
  body_bytes_ += a.body_bytes;
  bytes_out_ += a.bytes_out;
  latency_.Add(latency_us);
  auto& s = At(t_s);
  ++s.answered;
  s.bytes_in += a.bytes_in;
  s.latency.Add(latency_us);
  if (a.status >= 400) ++s.non_2xx;
  if (a.approximate) {
    ++approximate_;
    ++s.approximate;
  }
  if (a.cache_hit) {
    ++cache_hits_;
    ++s.cache_hits;
  }
}

void PlayStats::Failed(double t_s, PlayError e, uint64_t bytes_out) {
  ++failed_;
  ++errors_[static_cast<size_t>(e)];
  bytes_out_ += bytes_out;
  ++At(t_s).errors;
}

void PlayStats::InFlight(double t_s, uint64_t n) {
  auto& s = At(t_s);
  s.in_flight_max = std::max(s.in_flight_max, n);
}

void PlayStats::Merge(const PlayStats& o) {
  offered_ += o.offered_;
  answered_ += o.answered_;
  failed_ += o.failed_;
  approximate_ += o.approximate_;
  cache_hits_ += o.cache_hits_;
  bytes_in_ += o.bytes_in_;
  body_bytes_ += o.body_bytes_;
  bytes_out_ += o.bytes_out_;
  for (const auto& [k, v] : o.statuses_) statuses_[k] += v;
  for (size_t i = 0; i < errors_.size(); ++i) errors_[i] += o.errors_[i];
  latency_.Merge(o.latency_);
  if (o.seconds_.size() > seconds_.size()) seconds_.resize(o.seconds_.size());
  for (size_t i = 0; i < o.seconds_.size(); ++i) {
    auto& a = seconds_[i];
    const auto& b = o.seconds_[i];
    a.offered += b.offered;
    a.answered += b.answered;
    a.errors += b.errors;
    a.non_2xx += b.non_2xx;
    a.approximate += b.approximate;
    a.cache_hits += b.cache_hits;
    a.bytes_in += b.bytes_in;
    a.in_flight_max += b.in_flight_max;
    a.latency.Merge(b.latency);
  }
}

}  // namespace tacc::tools
