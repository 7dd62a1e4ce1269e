#include "tools/log_import.h"

#include <charconv>
#include <cmath>
#include <ctime>
#include <vector>

namespace tacc::tools {

namespace {

// Splits on runs of spaces and tabs.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "-" means unknown: -1.
bool ParseBytes(std::string_view s, int64_t* out) {
  if (s == "-") {
    *out = -1;
    return true;
  }
  return ParseInt(s, out) && *out >= 0;
}

// "1066036250.123" -> µs.
bool ParseUnixSeconds(std::string_view s, int64_t* out_us) {
  auto dot = s.find('.');
  int64_t whole = 0;
  if (!ParseInt(s.substr(0, dot), &whole) || whole < 0) return false;
  int64_t frac_us = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = s.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return false;
    int64_t f = 0;
    if (!ParseInt(frac, &f) || f < 0) return false;
    for (size_t k = frac.size(); k < 6; ++k) f *= 10;
    for (size_t k = 6; k < frac.size(); ++k) f /= 10;
    frac_us = f;
  }
  *out_us = whole * 1000000 + frac_us;
  return true;
}

bool ValidMethod(std::string_view m) {
  if (m.empty() || m.size() > 16) return false;
  for (char c : m) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

bool ValidUrl(std::string_view u) {
  if (u.empty() || u.size() > 8192) return false;
  if (u[0] != '/' && u.substr(0, 7) != "http://" && u.substr(0, 8) != "https://") return false;
  for (unsigned char c : u) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

int MonthIndex(std::string_view m) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

// "10/Oct/2000:13:55:36 -0700" -> Unix µs.
bool ParseClfTime(std::string_view s, int64_t* out_us) {
  // dd/Mon/yyyy:HH:MM:SS +zzzz
  if (s.size() != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ') return false;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, zone = 0;
  if (!ParseInt(s.substr(0, 2), &day) || !ParseInt(s.substr(7, 4), &year) || !ParseInt(s.substr(12, 2), &hour) ||
      !ParseInt(s.substr(15, 2), &minute) || !ParseInt(s.substr(18, 2), &second)) {
    return false;
  }
  int month = MonthIndex(s.substr(3, 3));
  char sign = s[21];
  if (month < 0 || (sign != '+' && sign != '-') || !ParseInt(s.substr(22, 4), &zone)) return false;
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970 || year > 9999) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t t = timegm(&tm);
  int offset = (zone / 100) * 3600 + (zone % 100) * 60;
  if (sign == '+') offset = -offset;  // local time + offset east = UTC - offset
  *out_us = (static_cast<int64_t>(t) + offset) * 1000000;
  return true;
}

}  // namespace

std::string ParseTaccLine(std::string_view line, ParsedLine* out) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    f.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (f.size() < 7) return "too few fields";
  if (f.size() > 7) return "too many fields";
  if (!ParseInt(f[0], &out->time_us) || out->time_us < 0) return "bad time";
  if (f[1].empty()) return "no user";
  if (!ValidMethod(f[2])) return "bad method";
  if (!ValidUrl(f[3])) return "bad url";
  if (f[4] == "-") {
    out->status = 0;
  } else if (!ParseInt(f[4], &out->status) || out->status < 100 || out->status > 999) {
    return "bad status";
  }
  if (!ParseBytes(f[5], &out->bytes)) return "bad bytes";
  out->user.assign(f[1]);
  out->method.assign(f[2]);
  out->url.assign(f[3]);
  out->type = f[6] == "-" ? "" : std::string(f[6]);
  return "";
}

std::string ParseSquidLine(std::string_view line, ParsedLine* out) {
  auto w = Words(line);
  if (w.size() < 7) return "too few fields";
  int64_t done_us = 0;
  if (!ParseUnixSeconds(w[0], &done_us)) return "bad time";
  int64_t elapsed_ms = 0;
  if (!ParseInt(w[1], &elapsed_ms) || elapsed_ms < 0) return "bad elapsed";
  auto slash = w[3].find('/');
  if (slash == std::string_view::npos) return "bad action/code";
  int code = 0;
  if (!ParseInt(w[3].substr(slash + 1), &code) || code < 0 || code > 999) return "bad action/code";
  if (!ParseBytes(w[4], &out->bytes)) return "bad bytes";
  if (!ValidMethod(w[5])) return "bad method";
  if (!ValidUrl(w[6])) return "bad url";  // CONNECT host:443 lines land here
  out->time_us = std::max<int64_t>(0, done_us - elapsed_ms * 1000);
  out->user.assign(w[2]);
  out->status = code;  // 0: Squid logged no answer (e.g. TCP_MISS/000)
  out->method.assign(w[5]);
  out->url.assign(w[6]);
  out->type = w.size() >= 10 && w[9] != "-" ? std::string(w[9]) : "";
  return "";
}

std::string ParseCommonLine(std::string_view line, ParsedLine* out) {
  auto open = line.find('[');
  auto close = line.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return "no [time]";
  auto head = Words(line.substr(0, open));
  if (head.size() != 3) return "bad host ident user";
  if (!ParseClfTime(line.substr(open + 1, close - open - 1), &out->time_us)) return "bad time";
  std::string_view rest = line.substr(close + 1);
  auto q1 = rest.find('"');
  if (q1 == std::string_view::npos) return "no request line";
  auto q2 = rest.find('"', q1 + 1);
  while (q2 != std::string_view::npos && rest[q2 - 1] == '\\') q2 = rest.find('"', q2 + 1);
  if (q2 == std::string_view::npos) return "no request line";
  auto req = Words(rest.substr(q1 + 1, q2 - q1 - 1));
  if (req.size() < 2 || req.size() > 3) return "bad request line";
  if (!ValidMethod(req[0])) return "bad method";
  if (!ValidUrl(req[1])) return "bad url";
  auto tail = Words(rest.substr(q2 + 1));
  if (tail.size() < 2) return "too few fields";
  if (!ParseInt(tail[0], &out->status) || out->status < 100 || out->status > 999) return "bad status";
  if (!ParseBytes(tail[1], &out->bytes)) return "bad bytes";
  out->user.assign(head[0]);
  out->method.assign(req[0]);
  out->url.assign(req[1]);
  out->type.clear();
  return "";
}

TraceFormat SniffFormat(std::string_view first_line) {
  ParsedLine scratch;
  if (ParseTaccLine(first_line, &scratch).empty()) return TraceFormat::kTacc;
  if (ParseSquidLine(first_line, &scratch).empty()) return TraceFormat::kSquid;
  if (ParseCommonLine(first_line, &scratch).empty()) return TraceFormat::kCommon;
  return TraceFormat::kAuto;
}

std::string_view FormatName(TraceFormat f) {
  switch (f) {
    case TraceFormat::kTacc:
      return "tacc";
    case TraceFormat::kSquid:
      return "squid";
    case TraceFormat::kCommon:
      return "common";
    case TraceFormat::kAuto:
      break;
  }
  return "auto";
}

bool ParseFormatName(std::string_view name, TraceFormat* out) {
  if (name == "auto") {
    *out = TraceFormat::kAuto;
  } else if (name == "tacc") {
    *out = TraceFormat::kTacc;
  } else if (name == "squid") {
    *out = TraceFormat::kSquid;
  } else if (name == "common" || name == "combined" || name == "clf") {
    *out = TraceFormat::kCommon;
  } else {
    return false;
  }
  return true;
}

}  // namespace tacc::tools
