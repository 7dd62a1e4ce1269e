// Line parsers for the trace formats `tacc play` reads: our own (docs/trace-format.md),
// Squid's native access.log, and the Common / Combined Log Format of web servers
// (Apache, nginx). Each turns one line into a ParsedLine with an absolute time, or says
// in a few words why it can't (the reason ImportReport counts the line under).
//
// Pure functions, thread-safe. trace_file.h reads whole files with them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tacc::tools {

enum class TraceFormat { kAuto, kTacc, kSquid, kCommon };

struct ParsedLine {
  int64_t time_us = 0;  // when the request started: trace time (tacc) or Unix time (logs)
  std::string user;     // user id or client address
  std::string method;
  std::string url;
  int status = 0;
  int64_t bytes = -1;
  std::string type;
};

// "" if `line` parsed into *out, else why not ("too few fields", "bad time", ...).
std::string ParseTaccLine(std::string_view line, ParsedLine* out);
// Squid native: "time.ms elapsed client action/code size method URL ident hier/from type".
// The start time is the logged (completion) time less the elapsed milliseconds.
std::string ParseSquidLine(std::string_view line, ParsedLine* out);
// Common: 'host ident user [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326';
// Combined adds '"referer" "user-agent"', which are ignored.
std::string ParseCommonLine(std::string_view line, ParsedLine* out);

// The format a first data line looks like; kAuto if none fits.
TraceFormat SniffFormat(std::string_view first_line);
std::string_view FormatName(TraceFormat f);
// "tacc", "squid", "common" (or "combined", "clf"), "auto"; false if none of those.
bool ParseFormatName(std::string_view name, TraceFormat* out);

}  // namespace tacc::tools
