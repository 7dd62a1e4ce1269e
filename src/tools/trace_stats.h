// TraceStats: what a trace holds, for `tacc trace stats` and the experiments' plots:
// requests, span, users and URLs; the MIME mix by content type and by URL extension
// (the paper classified by extension, which is how error pages ended up as "GIF"); mean
// and quantile sizes per class; status codes; and request counts per time bucket at any
// scale (Figure 6's three panels). Pure; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/latency_histogram.h"
#include "tools/trace_record.h"

namespace tacc::tools {

struct ClassStats {
  uint64_t requests = 0;
  uint64_t sized = 0;       // with a known size
  double bytes = 0;         // sum over sized
  LatencyHistogram sizes{50};  // bytes, reusing the log-bucketed histogram
};

struct TraceStats {
  uint64_t requests = 0;
  double span_s = 0;
  uint64_t users = 0;
  uint64_t urls = 0;
  std::map<std::string, ClassStats> by_type;       // "gif", "html", "jpeg", "other" from the MIME type
  std::map<std::string, ClassStats> by_extension;  // the same from the URL's extension
  std::map<int, uint64_t> statuses;
};

TraceStats ComputeTraceStats(const Trace& trace);
// "gif", "html", "jpeg" or "other" for a MIME type, and for a URL by its extension.
std::string ClassOfType(std::string_view type);
std::string ClassOfUrl(std::string_view url);
// Requests per bucket of `bucket_s` seconds from `from_s` for `span_s` (0: to the end).
std::vector<uint64_t> RateSeries(const Trace& trace, double bucket_s, double from_s = 0, double span_s = 0);

}  // namespace tacc::tools
