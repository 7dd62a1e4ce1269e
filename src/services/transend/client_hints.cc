#include "services/transend/client_hints.h"

#include <fmt/format.h>

#include "common/text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace tacc::services {
namespace bhttp = boost::beast::http;

namespace {
// A number in [lo, hi], or NaN.
double Number(std::string_view s, double lo, double hi) {
  std::string t(s);
  if (t.empty() || t.size() > 12) return NAN;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size() || !(v >= lo && v <= hi)) return NAN;
  return v;
}

std::string_view Field(const bhttp::fields& f, std::string_view a, std::string_view b = {}) {
  auto it = f.find(a);
  if (it != f.end()) return it->value();
  if (!b.empty()) {
    it = f.find(b);
    if (it != f.end()) return it->value();
  }
  return {};
}
}  // namespace

std::map<std::string, std::string> ClientHintArgs(const bhttp::fields& req) {
  std::map<std::string, std::string> args;
  std::string accept = AsciiLower(Field(req, "Accept"));
  if (accept.find("image/avif") != std::string::npos) args["accept_avif"] = "1";
  if (accept.find("image/webp") != std::string::npos) args["accept_webp"] = "1";
  if (AsciiLower(Field(req, "Save-Data")) == "on") args["save_data"] = "1";
  std::string ect = AsciiLower(Field(req, "ECT"));
  if (ect == "slow-2g" || ect == "2g" || ect == "3g" || ect == "4g") args["network"] = ect;
  double downlink = Number(Field(req, "Downlink"), 0, 10000);
  if (!std::isnan(downlink)) args["downlink_mbps"] = fmt::format("{}", downlink);
  double dpr = Number(Field(req, "Sec-CH-DPR", "DPR"), 0.5, 8);
  if (!std::isnan(dpr)) args["dpr"] = fmt::format("{}", dpr);
  double vw = Number(Field(req, "Sec-CH-Viewport-Width", "Viewport-Width"), 1, 16384);
  if (!std::isnan(vw)) {
    args["viewport_width"] = fmt::format("{}", static_cast<int>(vw));
    args["max_width"] = fmt::format("{}", static_cast<int>(std::lround(vw * (std::isnan(dpr) ? 1.0 : dpr))));
  }
  return args;
}

}  // namespace tacc::services
