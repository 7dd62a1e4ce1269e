#include "tools/play_report.h"

#include <fmt/format.h>

namespace tacc::tools {

namespace {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string Ms(double us) { return fmt::format("{:.3f}", us / 1000.0); }

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

}  // namespace

std::string SummaryJson(const PlayStats& s, const RunInfo& info) {
  std::string o = "{\n";
  o += fmt::format("  \"mode\": {},\n  \"target_mode\": {},\n  \"targets\": [", JsonString(info.mode), JsonString(info.target_mode));
  for (size_t i = 0; i < info.targets.size(); ++i) o += (i ? ", " : "") + JsonString(info.targets[i]);
  double secs = info.elapsed_s > 0 ? info.elapsed_s : 1;
  o += fmt::format("],\n  \"elapsed_s\": {:.3f},\n  \"offered\": {},\n  \"answered\": {},\n  \"failed\": {},\n", info.elapsed_s, s.offered(), s.answered(),
                   s.failed());
  o += fmt::format("  \"answered_per_s\": {:.1f},\n  \"approximate\": {},\n  \"cache_hits\": {},\n", static_cast<double>(s.answered()) / secs,
                   s.approximate(), s.cache_hits());
  o += fmt::format("  \"bytes_in\": {},\n  \"body_bytes_in\": {},\n  \"bytes_out\": {},\n  \"connections_opened\": {},\n", s.bytes_in(), s.body_bytes(),
                   s.bytes_out(), info.connections_opened);
  o += "  \"status\": {";
  bool first = true;
  for (const auto& [code, n] : s.statuses()) {
    o += fmt::format("{}\"{}\": {}", first ? "" : ", ", code, n);
    first = false;
  }
  o += "},\n  \"errors\": {";
  first = true;
  for (int i = 0; i < kPlayErrorKinds; ++i) {
    if (s.errors()[static_cast<size_t>(i)] == 0) continue;
    o += fmt::format("{}{}: {}", first ? "" : ", ", JsonString(PlayErrorName(static_cast<PlayError>(i))), s.errors()[static_cast<size_t>(i)]);
    first = false;
  }
  const auto& h = s.latency();
  auto q = h.Quantiles(kReportQuantiles);
  o += fmt::format("}},\n  \"latency_ms\": {{\"mean\": {}, \"min\": {}, \"p50\": {}, \"p90\": {}, \"p99\": {}, \"p999\": {}, \"max\": {}}}", Ms(h.mean_us()),
                   Ms(h.min_us()), Ms(q[0]), Ms(q[1]), Ms(q[2]), Ms(q[3]), Ms(h.max_us()));
  if (info.import) {
    o += fmt::format(",\n  \"trace\": {{\"lines\": {}, \"records\": {}, \"bad_lines\": {}, \"bad_by_reason\": {{", info.import->lines, info.import->records,
                     info.import->bad);
    first = true;
    for (const auto& [reason, n] : info.import->bad_by_reason) {
      o += fmt::format("{}{}: {}", first ? "" : ", ", JsonString(reason), n);
      first = false;
    }
    o += "}}";
  }
  o += "\n}\n";
  return o;
}

std::string SummaryTable(const PlayStats& s, const RunInfo& info) {
  double secs = info.elapsed_s > 0 ? info.elapsed_s : 1;
  std::string o;
  o += fmt::format("tacc play: {} load, {} to", info.mode, info.target_mode);
  for (const auto& t : info.targets) o += " " + t;
  o += fmt::format(", {:.1f} s\n\n", info.elapsed_s);
  o += fmt::format("  {:<22}{:>12}\n", "requests offered", s.offered());
  o += fmt::format("  {:<22}{:>12}   {:.1f}/s\n", "answered", s.answered(), static_cast<double>(s.answered()) / secs);
  o += fmt::format("  {:<22}{:>12}\n", "failed (no answer)", s.failed());
  o += fmt::format("  {:<22}{:>12}\n", "approximate answers", s.approximate());
  o += fmt::format("  {:<22}{:>12}\n", "cache hits", s.cache_hits());
  o += fmt::format("  {:<22}{:>12}   {}/s\n", "bytes in", HumanBytes(static_cast<double>(s.bytes_in())), HumanBytes(static_cast<double>(s.bytes_in()) / secs));
  o += fmt::format("  {:<22}{:>12}\n", "bytes out", HumanBytes(static_cast<double>(s.bytes_out())));
  o += fmt::format("  {:<22}{:>12}\n", "connections opened", info.connections_opened);
  o += "\n  status";
  for (const auto& [code, n] : s.statuses()) o += fmt::format("  {}: {}", code, n);
  if (s.statuses().empty()) o += "  (no answer)";
  o += "\n";
  if (s.failed()) {
    o += "  errors";
    for (int i = 0; i < kPlayErrorKinds; ++i) {
      uint64_t n = s.errors()[static_cast<size_t>(i)];
      if (n) o += fmt::format("  {}: {}", PlayErrorName(static_cast<PlayError>(i)), n);
    }
    o += "\n";
  }
  const auto& h = s.latency();
  auto q = h.Quantiles(kReportQuantiles);
  o += fmt::format("\n  latency (ms)   mean {}   p50 {}   p90 {}   p99 {}   p99.9 {}   max {}\n", Ms(h.mean_us()), Ms(q[0]), Ms(q[1]), Ms(q[2]), Ms(q[3]),
                   Ms(h.max_us()));
  if (info.import && info.import->bad) o += fmt::format("\n  trace: {} bad lines skipped of {}\n", info.import->bad, info.import->lines);
  return o;
}

void WriteSeriesCsv(std::FILE* out, const PlayStats& s) {
  fmt::print(out, "second,offered,answered,errors,non_2xx,approximate,cache_hits,bytes_in,in_flight_max,mean_ms,p50_ms,p90_ms,p99_ms,max_ms\n");
  const auto& secs = s.seconds();
  for (size_t i = 0; i < secs.size(); ++i) {
    const auto& x = secs[i];
    auto q = x.latency.Quantiles({0.5, 0.9, 0.99});
    fmt::print(out, "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", i, x.offered, x.answered, x.errors, x.non_2xx, x.approximate, x.cache_hits, x.bytes_in,
               x.in_flight_max, Ms(x.latency.mean_us()), Ms(q[0]), Ms(q[1]), Ms(q[2]), Ms(x.latency.max_us()));
  }
}

}  // namespace tacc::tools
