// What `tacc play` prints at the end: a human table (stdout), a JSON summary (--json) and
// the per-second time series as CSV (--series), all from one PlayStats.
// Pure formatting; thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "tools/play_stats.h"
#include "tools/trace_record.h"

namespace tacc::tools {

struct RunInfo {
  std::string mode;                  // "rate", "trace", "users"
  std::vector<std::string> targets;  // "127.0.0.1:8080"
  std::string target_mode;           // "forward", "reverse", "url-api"
  double elapsed_s = 0;
  uint64_t connections_opened = 0;
  const ImportReport* import = nullptr;  // when a trace was read
};

// Quantiles every report shows.
inline const std::vector<double> kReportQuantiles = {0.5, 0.9, 0.99, 0.999};

std::string SummaryJson(const PlayStats& stats, const RunInfo& info);
std::string SummaryTable(const PlayStats& stats, const RunInfo& info);
// "second,offered,answered,errors,non_2xx,approximate,cache_hits,bytes_in,in_flight_max,mean_ms,p50_ms,p90_ms,p99_ms,max_ms"
void WriteSeriesCsv(std::FILE* out, const PlayStats& stats);

}  // namespace tacc::tools
