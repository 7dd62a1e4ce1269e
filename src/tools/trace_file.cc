#include "tools/trace_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <unordered_map>

namespace tacc::tools {

void ImportReport::Bad(const std::string& reason, int64_t line) {
  ++bad;
  ++bad_by_reason[reason];
  auto& ex = examples[reason];
  if (ex.size() < 5) ex.push_back(line);
}

Status ReadTrace(std::istream& in, TraceFormat format, Trace* trace, ImportReport* report) {
  std::unordered_map<std::string, uint32_t> user_index;
  for (size_t i = 0; i < trace->users.size(); ++i) user_index.emplace(trace->users[i], static_cast<uint32_t>(i));
  bool is_relative = format == TraceFormat::kTacc;
  std::string line;
  ParsedLine p;
  int64_t min_time = INT64_MAX;
  const size_t first_new = trace->records.size();
  while (std::getline(in, line)) {
    ++report->lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (format == TraceFormat::kAuto && line.rfind(kTraceMagic, 0) == 0) format = TraceFormat::kTacc;
      continue;
    }
    if (format == TraceFormat::kAuto) {
      format = SniffFormat(line);
      if (format == TraceFormat::kAuto) {
        report->Bad("unknown format", report->lines);
        continue;
      }
    }
    is_relative = format == TraceFormat::kTacc;
    std::string why;
    switch (format) {
      case TraceFormat::kTacc:
        why = ParseTaccLine(line, &p);
        break;
      case TraceFormat::kSquid:
        why = ParseSquidLine(line, &p);
        break;
      default:
        why = ParseCommonLine(line, &p);
        break;
    }
    if (!why.empty()) {
      report->Bad(why, report->lines);
      continue;
    }
    auto [it, fresh] = user_index.emplace(p.user, static_cast<uint32_t>(trace->users.size()));
    if (fresh) trace->users.push_back(p.user);
    TraceRecord r;
    r.t_us = p.time_us;
    r.user = it->second;
    r.method = std::move(p.method);
    r.url = std::move(p.url);
    r.status = p.status;
    r.bytes = p.bytes;
    r.type = std::move(p.type);
    min_time = std::min(min_time, r.t_us);
    trace->records.push_back(std::move(r));
    ++report->records;
  }
  if (in.bad()) return Status::Unavailable("reading the trace failed");
  if (format == TraceFormat::kAuto && report->records == 0 && report->bad > 0) {
    return Status::InvalidArgument(fmt::format("no line of the {} read looks like a tacc trace, a Squid access.log or a Common/Combined log",
                                               report->lines));
  }
  auto first = trace->records.begin() + static_cast<std::ptrdiff_t>(first_new);
  if (!is_relative && first != trace->records.end()) {
    for (auto it = first; it != trace->records.end(); ++it) it->t_us -= min_time;
  }
  if (!std::is_sorted(first, trace->records.end(), [](const TraceRecord& a, const TraceRecord& b) { return a.t_us < b.t_us; })) {
    // Logs are written when requests end; playback wants them by start.
    std::stable_sort(first, trace->records.end(), [](const TraceRecord& a, const TraceRecord& b) { return a.t_us < b.t_us; });
    report->reordered = true;
  }
  return Status::Ok();
}

Status ReadTraceFile(const std::string& path, TraceFormat format, Trace* trace, ImportReport* report) {
  if (path == "-") return ReadTrace(std::cin, format, trace, report);
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("can't open trace '{}'", path));
  return ReadTrace(in, format, trace, report);
}

std::string DescribeBadLines(const ImportReport& report) {
  if (report.bad == 0) return "";
  std::string out = fmt::format("{} bad line{} of {}:", report.bad, report.bad == 1 ? "" : "s", report.lines);
  bool first = true;
  for (const auto& [reason, n] : report.bad_by_reason) {
    out += fmt::format("{} {} {} (line{} ", first ? "" : ",", n, reason, n == 1 ? "" : "s");
    first = false;
    const auto& ex = report.examples.at(reason);
    for (size_t i = 0; i < ex.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", ex[i]);
    if (n > static_cast<int64_t>(ex.size())) out += ", ...";
    out += ")";
  }
  return out;
}

TraceWriter::TraceWriter(std::FILE* out) : out_(out) {
  fmt::print(out_, "{}\n#fields time_us user method url status bytes type\n", kTraceMagic);
}

void TraceWriter::Write(int64_t t_us, std::string_view user, std::string_view method, std::string_view url, int status, int64_t bytes,
                        std::string_view type) {
  fmt::memory_buffer b;
  fmt::format_to(std::back_inserter(b), "{}\t{}\t{}\t{}\t", t_us, user, method, url);
  if (status > 0) {
    fmt::format_to(std::back_inserter(b), "{}\t", status);
  } else {
    b.append(std::string_view("-\t"));
  }
  if (bytes >= 0) {
    fmt::format_to(std::back_inserter(b), "{}\t", bytes);
  } else {
    b.append(std::string_view("-\t"));
  }
  b.append(type.empty() ? std::string_view("-") : type);
  b.push_back('\n');
  std::fwrite(b.data(), 1, b.size(), out_);
}

}  // namespace tacc::tools
