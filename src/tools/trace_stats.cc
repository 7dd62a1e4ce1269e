#include "tools/trace_stats.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace tacc::tools {

std::string ClassOfType(std::string_view type) {
  auto semi = type.find(';');
  if (semi != std::string_view::npos) type = type.substr(0, semi);
  if (type == "image/gif") return "gif";
  if (type == "text/html") return "html";
  if (type == "image/jpeg" || type == "image/pjpeg") return "jpeg";
  return "other";
}

std::string ClassOfUrl(std::string_view url) {
  auto q = url.find_first_of("?#");
  if (q != std::string_view::npos) url = url.substr(0, q);
  auto slash = url.rfind('/');
  auto dot = url.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return url.empty() || url.back() == '/' ? "html" : "other";
  std::string ext(url.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == "gif") return "gif";
  if (ext == "html" || ext == "htm") return "html";
  if (ext == "jpg" || ext == "jpeg" || ext == "jpe") return "jpeg";
  return "other";
}

TraceStats ComputeTraceStats(const Trace& trace) {
  TraceStats s;
  s.requests = trace.records.size();
  if (!trace.records.empty()) s.span_s = static_cast<double>(trace.records.back().t_us - trace.records.front().t_us) / 1e6;
  std::unordered_set<uint32_t> users;
  std::unordered_set<std::string_view> urls;
  for (const auto& r : trace.records) {
    users.insert(r.user);
    urls.insert(r.url);
    ++s.statuses[r.status];
    for (auto* m : {&s.by_type, &s.by_extension}) {
      auto& c = (*m)[m == &s.by_type ? ClassOfType(r.type) : ClassOfUrl(r.url)];
      ++c.requests;
      if (r.bytes >= 0) {
        ++c.sized;
        c.bytes += static_cast<double>(r.bytes);
        c.sizes.Add(static_cast<double>(std::max<int64_t>(1, r.bytes)));
      }
    }
  }
  s.users = users.size();
  s.urls = urls.size();
  return s;
}

std::vector<uint64_t> RateSeries(const Trace& trace, double bucket_s, double from_s, double span_s) {
  std::vector<uint64_t> out;
  if (trace.records.empty() || bucket_s <= 0) return out;
  double end = span_s > 0 ? from_s + span_s : static_cast<double>(trace.records.back().t_us) / 1e6 + 1e-9;
  out.resize(static_cast<size_t>(std::ceil((end - from_s) / bucket_s)));
  for (const auto& r : trace.records) {
    double t = static_cast<double>(r.t_us) / 1e6;
    if (t < from_s || t >= end) continue;
    size_t i = static_cast<size_t>((t - from_s) / bucket_s);
    if (i < out.size()) ++out[i];
  }
  return out;
}

}  // namespace tacc::tools
