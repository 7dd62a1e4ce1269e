// Reading and writing whole trace files (docs/trace-format.md).
//
// ReadTrace takes our own format, a Squid access.log or a Common/Combined log (or sniffs
// which from the first data line), skips and counts the lines it can't use (never
// fatal), interns user names, makes log times relative to the first request and sorts
// records by time. TraceWriter writes our own format, one line per record, and is what
// `tacc trace synth` and `tacc trace import` use.
#pragma once

#include <cstdio>
#include <istream>
#include <string>

#include "common/status.h"
#include "tools/log_import.h"
#include "tools/trace_record.h"

namespace tacc::tools {

inline constexpr std::string_view kTraceMagic = "#tacc-trace 1";

// Reads `in` (format `format`, or sniffed with kAuto) into *trace. Fails only if the
// format can't be told (kAuto and no line fits any) or the stream can't be read; bad lines
// are in *report.
Status ReadTrace(std::istream& in, TraceFormat format, Trace* trace, ImportReport* report);
// The same from a file ("-": standard input).
Status ReadTraceFile(const std::string& path, TraceFormat format, Trace* trace, ImportReport* report);

// "12 bad lines of 10012: 7 bad url (lines 3, 9, ...), 5 bad time (...)"; "" if none.
std::string DescribeBadLines(const ImportReport& report);

class TraceWriter {
 public:
  // Writes to `out` (not owned); the header goes out at once.
  explicit TraceWriter(std::FILE* out);
  void Write(int64_t t_us, std::string_view user, std::string_view method, std::string_view url, int status, int64_t bytes,
             std::string_view type);
  void Write(const TraceRecord& r, const Trace& t) { Write(r.t_us, t.users[r.user], r.method, r.url, r.status, r.bytes, r.type); }
  bool ok() const { return std::ferror(out_) == 0; }

 private:
  std::FILE* out_;
};

}  // namespace tacc::tools
