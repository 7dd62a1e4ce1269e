#include "services/transend/cached_response.h"

#include <fmt/format.h>

#include <charconv>

namespace tacc::services {
namespace {
constexpr std::string_view kMagic = "TC1 ";

bool ReadNumber(std::string_view& in, int64_t& out, char end) {
  auto stop = in.find(end);
  if (stop == std::string_view::npos || stop == 0 || stop > 20) return false;
  auto [p, ec] = std::from_chars(in.data(), in.data() + stop, out);
  if (ec != std::errc() || p != in.data() + stop) return false;
  in.remove_prefix(stop + 1);
  return true;
}

bool ReadBytes(std::string_view& in, int64_t n, std::string& out) {
  if (n < 0 || static_cast<uint64_t>(n) > in.size()) return false;
  out.assign(in.substr(0, static_cast<size_t>(n)));
  in.remove_prefix(static_cast<size_t>(n));
  return true;
}
}  // namespace

std::string EncodeCachedResponse(const CachedResponse& r) {
  using namespace std::chrono;
  size_t count = 0;
  for (auto it = r.headers.begin(); it != r.headers.end(); ++it) ++count;
  std::string out = fmt::format("{}{} {} {} {} {}\n", kMagic, r.status, duration_cast<milliseconds>(r.request_time.time_since_epoch()).count(),
                                duration_cast<milliseconds>(r.response_time.time_since_epoch()).count(), r.secondary_key.size(), count);
  out += r.secondary_key;
  for (const auto& f : r.headers) {
    out += fmt::format("{} {}\n", f.name_string().size(), f.value().size());
    out.append(f.name_string());
    out.append(f.value());
  }
  out += r.body;
  return out;
}

std::optional<CachedResponse> DecodeCachedResponse(std::string_view in) {
  using namespace std::chrono;
  if (!in.starts_with(kMagic)) return std::nullopt;
  in.remove_prefix(kMagic.size());
  int64_t status = 0, req_ms = 0, resp_ms = 0, sk = 0, count = 0;
  if (!ReadNumber(in, status, ' ') || !ReadNumber(in, req_ms, ' ') || !ReadNumber(in, resp_ms, ' ') || !ReadNumber(in, sk, ' ') ||
      !ReadNumber(in, count, '\n'))
    return std::nullopt;
  if (status < 100 || status > 599 || count < 0 || count > 1000) return std::nullopt;
  CachedResponse r;
  r.status = static_cast<unsigned>(status);
  r.request_time = system_clock::time_point(milliseconds(req_ms));
  r.response_time = system_clock::time_point(milliseconds(resp_ms));
  if (!ReadBytes(in, sk, r.secondary_key)) return std::nullopt;
  for (int64_t i = 0; i < count; ++i) {
    int64_t nl = 0, vl = 0;
    std::string name, value;
    if (!ReadNumber(in, nl, ' ') || !ReadNumber(in, vl, '\n') || nl == 0 || nl > 256 || vl > 65536 || !ReadBytes(in, nl, name) ||
        !ReadBytes(in, vl, value))
      return std::nullopt;
    for (char c : name)
      if (c <= ' ' || c == ':' || static_cast<unsigned char>(c) >= 0x7f) return std::nullopt;
    for (char c : value)
      if (c == '\r' || c == '\n' || c == '\0') return std::nullopt;
    r.headers.insert(name, value);
  }
  r.body.assign(in);
  return r;
}

}  // namespace tacc::services
