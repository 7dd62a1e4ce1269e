// TraceRecord and Trace: one HTTP request of a workload, as `tacc play` replays it and
// `tacc trace synth` writes it (SNS paper §4.1: the playback engine and its traces).
//
// A trace is requests in time order: when (µs from the trace's start), who (a user index
// into Trace::users), what (method, URL) and what the log said came back (status, bytes,
// MIME type). Where a record came from (our own format, a Squid access.log, a Common or
// Combined log) is forgotten once it is read; see trace_file.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tacc::tools {

struct TraceRecord {
  int64_t t_us = 0;     // from the trace's start
  uint32_t user = 0;    // index into Trace::users
  std::string method = "GET";
  std::string url;      // absolute ("http://host/path") or a path ("/path")
  int status = 200;     // as logged; 0 if the log did not say
  int64_t bytes = -1;   // body bytes as logged; -1 if the log did not say
  std::string type;     // MIME type as logged; "" if the log did not say
};

// What reading a trace found wrong, never fatal: lines skipped, by reason, with the
// first few line numbers of each so that a user can look.
struct ImportReport {
  int64_t lines = 0;     // lines read, comments and blank lines included
  int64_t records = 0;   // records taken
  int64_t bad = 0;       // lines skipped
  std::map<std::string, int64_t> bad_by_reason;
  std::map<std::string, std::vector<int64_t>> examples;  // reason -> first line numbers (at most 5)
  bool reordered = false;  // records were not in time order and were sorted

  void Bad(const std::string& reason, int64_t line);
};

struct Trace {
  std::vector<TraceRecord> records;  // sorted by t_us
  std::vector<std::string> users;    // user names (ids, client addresses) by index
};

}  // namespace tacc::tools
