#include "tacc/cache_policy.h"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

namespace tacc::tacc_layer {

namespace bhttp = boost::beast::http;
using std::chrono::seconds;

namespace {

// --- small text helpers

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// tchar of RFC 9110 §5.6.2.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar); }

// delta-seconds (RFC 9111 §1.2.2): 1*DIGIT, saturating at 2^31. nullopt if not digits.
std::optional<seconds> ParseDeltaSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  long long v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    if (v < kDeltaSecondsMax.count()) v = v * 10 + (c - '0');
  }
  return seconds(std::min<long long>(v, kDeltaSecondsMax.count()));
}

// The elements of a comma-separated list (RFC 9110 §5.6.1), commas inside quoted
// strings not splitting, elements trimmed, empty ones dropped.
std::vector<std::string_view> ListElements(std::string_view value) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    char c = i < value.size() ? value[i] : ',';
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      auto e = Trim(value.substr(start, i - start));
      if (!e.empty()) out.push_back(e);
      start = i + 1;
    }
  }
  if (quoted) {  // an unterminated quote swallowed the rest: keep it as one element
    auto e = Trim(value.substr(std::min(start, value.size())));
    if (!e.empty()) out.push_back(e);
  }
  return out;
}

// All field lines named `name`, or nullopt if there are none.
std::vector<std::string_view> FieldLines(const bhttp::fields& fields, bhttp::field name) {
  std::vector<std::string_view> out;
  auto [b, e] = fields.equal_range(name);
  for (auto it = b; it != e; ++it) out.emplace_back(it->value().data(), it->value().size());
  return out;
}

long long EpochSeconds(HttpTime t) { return std::chrono::floor<seconds>(t.time_since_epoch()).count(); }

// The single value of a singleton field; nullopt if absent or if repeated with
// different values (then nobody can tell which one is meant).
std::optional<std::string_view> SingletonField(const bhttp::fields& fields, bhttp::field name) {
  auto lines = FieldLines(fields, name);
  if (lines.empty()) return std::nullopt;
  for (auto l : lines)
    if (Trim(l) != Trim(lines.front())) return std::nullopt;
  return Trim(lines.front());
}

// The response's Date, or `response_time` if it has none or an invalid one.
HttpTime DateOf(const bhttp::fields& response, HttpTime response_time) {
  auto v = SingletonField(response, bhttp::field::date);
  if (!v) return response_time;
  auto t = ParseHttpDate(*v, response_time);
  return t ? *t : response_time;
}

// --- HTTP-date pieces

constexpr std::array<std::string_view, 7> kShortDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <size_t N>
bool IsOneOf(std::string_view word, const std::array<std::string_view, N>& names) {
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return boost::beast::iequals(word, n); });
}

// A left-to-right reader over the date text; every step fails softly.
class DateReader {
 public:
  explicit DateReader(std::string_view s) : s_(s) {}
  bool AtEnd() const { return i_ == s_.size(); }
  bool Literal(char c) {
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  bool Literal(std::string_view w) {
    if (s_.substr(i_).size() < w.size() || !boost::beast::iequals(s_.substr(i_, w.size()), w)) return false;
    i_ += w.size();
    return true;
  }
  std::string_view Word() {
    size_t b = i_;
    while (i_ < s_.size() && ((s_[i_] >= 'a' && s_[i_] <= 'z') || (s_[i_] >= 'A' && s_[i_] <= 'Z'))) ++i_;
    return s_.substr(b, i_ - b);
  }
  // Exactly `n` digits.
  std::optional<int> Digits(size_t n) {
    if (s_.size() - i_ < n) return std::nullopt;
    int v = 0;
    for (size_t k = 0; k < n; ++k) {
      char c = s_[i_ + k];
      if (!IsDigit(c)) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i_ += n;
    return v;
  }
  std::optional<unsigned> Month() {
    auto w = Word();
    for (size_t m = 0; m < kMonths.size(); ++m)
      if (boost::beast::iequals(w, kMonths[m])) return static_cast<unsigned>(m + 1);
    return std::nullopt;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

struct TimeOfDay {
  int hour, minute, second;
};

// time-of-day = hour ":" minute ":" second (each 2DIGIT); second 60 is a leap second.
std::optional<TimeOfDay> ReadTimeOfDay(DateReader& r) {
  auto h = r.Digits(2);
  if (!h || !r.Literal(':')) return std::nullopt;
  auto m = r.Digits(2);
  if (!m || !r.Literal(':')) return std::nullopt;
  auto s = r.Digits(2);
  if (!s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
  return TimeOfDay{*h, *m, *s};
}

std::optional<HttpTime> MakeTime(int year, unsigned month, int day, TimeOfDay tod) {
  using namespace std::chrono;
  if (day < 1 || day > 31) return std::nullopt;
  year_month_day ymd{std::chrono::year{year}, std::chrono::month{month}, std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  // Clamped so that the nanosecond time_point and differences of two of them can't
  // overflow; 2200 is "never" and 1900 "long ago" for every use a cache has.
  if (year > 2200 || year < 1900) {
    ymd = year_month_day{std::chrono::year{year > 2200 ? 2200 : 1900}, January, std::chrono::day{1}};
    tod = {0, 0, 0};
  }
  return HttpTime(sys_days(ymd)) + hours(tod.hour) + minutes(tod.minute) + seconds(tod.second);
}

// RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past.
int ExpandTwoDigitYear(int yy, HttpTime reference) {
  using namespace std::chrono;
  int ref_year = static_cast<int>(year_month_day(floor<days>(reference)).year());
  int year = ref_year - ref_year % 100 + yy;
  if (year > ref_year + 50)
    year -= 100;
  else if (year <= ref_year - 50)
    year += 100;
  return year;
}

// --- Cache-Control parsing

// One directive as written: name, whether "=" followed, the (unquoted) value, and whether
// the text was well-formed.
struct RawDirective {
  std::string name;  // lowercased
  bool has_value = false;
  std::string value;
  bool well_formed = true;
};

// Parses one Cache-Control field line into directives. Garbage after a directive makes
// it ill-formed but keeps it; garbage where a name should be is skipped to the next
// comma outside quotes.
void ParseCacheControlLine(std::string_view line, std::vector<RawDirective>& out, bool& malformed) {
  size_t i = 0;
  auto skip_ows = [&] {
    while (i < line.size() && IsOws(line[i])) ++i;
  };
  auto skip_to_next_element = [&] {
    bool quoted = false;
    for (; i < line.size(); ++i) {
      char c = line[i];
      if (quoted) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        break;
      }
    }
  };
  while (i < line.size()) {
    while (i < line.size() && (IsOws(line[i]) || line[i] == ',')) ++i;
    if (i >= line.size()) break;
    size_t b = i;
    while (i < line.size() && IsTokenChar(line[i])) ++i;
    if (i == b) {
      malformed = true;
      skip_to_next_element();
      continue;
    }
    RawDirective d;
    d.name = Lower(line.substr(b, i - b));
    skip_ows();
    if (i < line.size() && line[i] == '=') {
      ++i;
      skip_ows();
      d.has_value = true;
      if (i < line.size() && line[i] == '"') {
        ++i;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && i < line.size()) c = line[i++];
          d.value += c;
        }
        if (!closed) d.well_formed = false;
      } else {
        size_t vb = i;
        while (i < line.size() && IsTokenChar(line[i])) ++i;
        d.value = std::string(line.substr(vb, i - vb));
        if (d.value.empty()) d.well_formed = false;
      }
      skip_ows();
    }
    if (i < line.size() && line[i] != ',') {
      d.well_formed = false;
      skip_to_next_element();
    }
    if (!d.well_formed) malformed = true;
    out.push_back(std::move(d));
  }
}

// The directive's delta-seconds argument, or nullopt (and `malformed` set) if it has
// none or a bad one.
std::optional<seconds> DeltaArgument(const RawDirective& d, bool& malformed) {
  auto v = d.well_formed && d.has_value ? ParseDeltaSeconds(d.value) : std::nullopt;
  if (!v) malformed = true;
  return v;
}

// max-age / s-maxage: a bad value, or a repetition with another value, means stale.
void SetFreshnessDirective(std::optional<seconds>& slot, const RawDirective& d, bool& malformed) {
  seconds value = DeltaArgument(d, malformed).value_or(seconds(0));
  if (slot && *slot != value) value = seconds(0);
  slot = value;
}

void ApplyDirective(CacheControl& cc, const RawDirective& d) {
  const std::string& n = d.name;
  if (n == "no-store")
    cc.no_store = true;
  else if (n == "no-cache")
    cc.no_cache = true;
  else if (n == "private")
    cc.private_ = true;
  else if (n == "public")
    cc.public_ = true;
  else if (n == "must-revalidate")
    cc.must_revalidate = true;
  else if (n == "proxy-revalidate")
    cc.proxy_revalidate = true;
  else if (n == "must-understand")
    cc.must_understand = true;
  else if (n == "no-transform")
    cc.no_transform = true;
  else if (n == "only-if-cached")
    cc.only_if_cached = true;
  else if (n == "max-age")
    SetFreshnessDirective(cc.max_age, d, cc.malformed);
  else if (n == "s-maxage")
    SetFreshnessDirective(cc.s_maxage, d, cc.malformed);
  else if (n == "min-fresh") {
    // A bad min-fresh is ignored; of several, the strictest (largest) wins.
    if (auto v = DeltaArgument(d, cc.malformed)) cc.min_fresh = cc.min_fresh ? std::max(*cc.min_fresh, *v) : *v;
  } else if (n == "max-stale") {
    if (!d.has_value && d.well_formed) {
      if (!cc.max_stale) cc.max_stale_any = true;
    } else {
      // A bad value allows no staleness; of several, the strictest (smallest) wins.
      seconds value = DeltaArgument(d, cc.malformed).value_or(seconds(0));
      cc.max_stale = cc.max_stale ? std::min(*cc.max_stale, value) : value;
      cc.max_stale_any = false;
    }
  }
  // Unknown directives are extensions: ignored (RFC 9111 §5.2.3).
}

// The request's Cache-Control, with HTTP/1.0 `Pragma: no-cache` as no-cache when the
// request has no Cache-Control at all.
CacheControl RequestCacheControl(const bhttp::fields& request) {
  CacheControl cc = ParseCacheControl(request);
  if (request.find(bhttp::field::cache_control) == request.end()) {
    for (auto line : FieldLines(request, bhttp::field::pragma))
      for (auto e : ListElements(line))
        if (boost::beast::iequals(e, "no-cache")) cc.no_cache = true;
  }
  return cc;
}

// --- Vary

// The lowercased, sorted, distinct field names of Vary; nullopt for "*" or a non-token.
std::optional<std::vector<std::string>> VaryNames(const bhttp::fields& response) {
  std::set<std::string> names;
  for (auto line : FieldLines(response, bhttp::field::vary)) {
    for (auto e : ListElements(line)) {
      if (e == "*" || !IsToken(e)) return std::nullopt;
      names.insert(Lower(e));
    }
  }
  return std::vector<std::string>(names.begin(), names.end());
}

// Field lines combined with "," and whitespace normalised outside quoted strings: runs
// of SP/HTAB become one SP, none next to a comma, none at either end.
std::string NormalizedValue(const std::vector<std::string_view>& lines) {
  std::string joined;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k) joined += ',';
    joined.append(lines[k]);
  }
  std::string out;
  bool quoted = false, pending_space = false;
  for (size_t i = 0; i < joined.size(); ++i) {
    char c = joined[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < joined.size())
        out += joined[++i];
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (IsOws(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && c != ',' && !out.empty() && out.back() != ',') out += ' ';
    pending_space = false;
    out += c;
    if (c == '"') quoted = true;
  }
  return out;
}

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out += ':';
  out.append(s);
}

// Opaque-tag of an entity-tag, for weak comparison (RFC 9110 §8.8.3.2).
std::string_view OpaqueTag(std::string_view etag) {
  etag = Trim(etag);
  if (etag.size() >= 2 && (etag[0] == 'W' || etag[0] == 'w') && etag[1] == '/') etag.remove_prefix(2);
  return etag;
}

bool ExcludedFromUpdate(bhttp::field f) {
  switch (f) {
    case bhttp::field::content_length:
    case bhttp::field::transfer_encoding:
    case bhttp::field::content_encoding:
    case bhttp::field::content_range:
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::proxy_authenticate:
    case bhttp::field::proxy_authorization:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::upgrade:
      return true;
    default:
      return false;
  }
}

}  // namespace

// --- HTTP-date

std::optional<HttpTime> ParseHttpDate(std::string_view text, HttpTime reference) {
  DateReader r(Trim(text));
  auto day_name = r.Word();
  if (r.Literal(',')) {
    if (!r.Literal(' ')) return std::nullopt;
    if (IsOneOf(day_name, kShortDays)) {
      // IMF-fixdate: day SP month SP year SP time-of-day SP GMT
      auto day = r.Digits(2);
      if (!day || !r.Literal(' ')) return std::nullopt;
      auto month = r.Month();
      if (!month || !r.Literal(' ')) return std::nullopt;
      auto year = r.Digits(4);
      if (!year || !r.Literal(' ')) return std::nullopt;
      auto tod = ReadTimeOfDay(r);
      if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
      return MakeTime(*year, *month, *day, *tod);
    }
    if (IsOneOf(day_name, kLongDays)) {
      // rfc850-date: day "-" month "-" 2DIGIT SP time-of-day SP GMT
      auto day = r.Digits(2);
      if (!day || !r.Literal('-')) return std::nullopt;
      auto month = r.Month();
      if (!month || !r.Literal('-')) return std::nullopt;
      auto yy = r.Digits(2);
      if (!yy || !r.Literal(' ')) return std::nullopt;
      auto tod = ReadTimeOfDay(r);
      if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
      return MakeTime(ExpandTwoDigitYear(*yy, reference), *month, *day, *tod);
    }
    return std::nullopt;
  }
  // asctime-date: day-name SP month SP ( 2DIGIT / ( SP 1DIGIT ) ) SP time-of-day SP year
  if (!IsOneOf(day_name, kShortDays) || !r.Literal(' ')) return std::nullopt;
  auto month = r.Month();
  if (!month || !r.Literal(' ')) return std::nullopt;
  std::optional<int> day = r.Literal(' ') ? r.Digits(1) : r.Digits(2);
  if (!day || !r.Literal(' ')) return std::nullopt;
  auto tod = ReadTimeOfDay(r);
  if (!tod || !r.Literal(' ')) return std::nullopt;
  auto year = r.Digits(4);
  if (!year || !r.AtEnd()) return std::nullopt;
  return MakeTime(*year, *month, *day, *tod);
}

std::string FormatHttpDate(HttpTime t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto day = floor<days>(secs);
  year_month_day ymd(day);
  hh_mm_ss hms(secs - day);
  weekday wd(day);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", kShortDays[wd.c_encoding()].data(),
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1].data(), static_cast<int>(ymd.year()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

// --- Cache-Control

CacheControl ParseCacheControl(const bhttp::fields& fields) {
  CacheControl cc;
  std::vector<RawDirective> directives;
  for (auto line : FieldLines(fields, bhttp::field::cache_control)) ParseCacheControlLine(line, directives, cc.malformed);
  for (const auto& d : directives) ApplyDirective(cc, d);
  return cc;
}

// --- Storing

std::string_view StoreDecisionName(StoreDecision decision) {
  switch (decision) {
    case StoreDecision::kStore:
      return "store";
    case StoreDecision::kMethodNotCacheable:
      return "method-not-cacheable";
    case StoreDecision::kStatusNotUnderstood:
      return "status-not-understood";
    case StoreDecision::kRequestNoStore:
      return "request-no-store";
    case StoreDecision::kResponseNoStore:
      return "response-no-store";
    case StoreDecision::kPrivate:
      return "private";
    case StoreDecision::kAuthorization:
      return "authorization";
    case StoreDecision::kNotExplicitlyCacheable:
      return "not-explicitly-cacheable";
    case StoreDecision::kVaryStar:
      return "vary-star";
    case StoreDecision::kSetCookie:
      return "set-cookie";
    case StoreDecision::kUseless:
      return "no-freshness-no-validator";
  }
  return "unknown";
}

bool StatusUnderstood(unsigned status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

bool StatusHeuristicallyCacheable(unsigned status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

StoreDecision Storable(bhttp::verb method, const bhttp::fields& request, unsigned status, const bhttp::fields& response,
                       const CachePolicyOptions& options) {
  if (method != bhttp::verb::get) return StoreDecision::kMethodNotCacheable;
  if (!StatusUnderstood(status)) return StoreDecision::kStatusNotUnderstood;
  const CacheControl req = RequestCacheControl(request);
  if (req.no_store) return StoreDecision::kRequestNoStore;
  const CacheControl resp = ParseCacheControl(response);
  // must-understand lets a cache that implements the status ignore no-store (§5.2.2.3);
  // every status we get here is one we implement.
  if (resp.no_store && !resp.must_understand) return StoreDecision::kResponseNoStore;
  if (resp.private_) return StoreDecision::kPrivate;
  if (request.find(bhttp::field::authorization) != request.end() && !resp.public_ && !resp.s_maxage && !resp.must_revalidate)
    return StoreDecision::kAuthorization;
  const bool has_expires = response.find(bhttp::field::expires) != response.end();
  if (!resp.public_ && !resp.max_age && !resp.s_maxage && !has_expires && !StatusHeuristicallyCacheable(status))
    return StoreDecision::kNotExplicitlyCacheable;
  if (!VaryNames(response)) return StoreDecision::kVaryStar;
  if (!options.store_set_cookie && response.find(bhttp::field::set_cookie) != response.end()) return StoreDecision::kSetCookie;
  const bool has_validator =
      response.find(bhttp::field::etag) != response.end() || response.find(bhttp::field::last_modified) != response.end();
  // The effective explicit lifetime for a shared cache: s-maxage over max-age over
  // Expires (whose value needs times to judge; present counts as positive).
  const bool explicit_positive = resp.s_maxage ? resp.s_maxage->count() > 0 : resp.max_age ? resp.max_age->count() > 0 : has_expires;
  if (!has_validator && (resp.no_cache || !explicit_positive)) return StoreDecision::kUseless;
  return StoreDecision::kStore;
}

void EnsureDate(bhttp::fields& response, HttpTime response_time) {
  auto v = SingletonField(response, bhttp::field::date);
  if (v && ParseHttpDate(*v, response_time)) return;
  response.set(bhttp::field::date, FormatHttpDate(response_time));
}

// --- Freshness and age

seconds FreshnessLifetime(unsigned status, const bhttp::fields& response, HttpTime response_time, const CachePolicyOptions& options) {
  const CacheControl cc = ParseCacheControl(response);
  if (cc.s_maxage) return *cc.s_maxage;
  if (cc.max_age) return *cc.max_age;
  const HttpTime date = DateOf(response, response_time);
  if (response.find(bhttp::field::expires) != response.end()) {
    auto v = SingletonField(response, bhttp::field::expires);  // repeated and different: stale
    auto expires = v ? ParseHttpDate(*v, response_time) : std::nullopt;
    if (!expires) return seconds(0);  // invalid Expires: already expired (RFC 9111 §5.3)
    return seconds(std::clamp(EpochSeconds(*expires) - EpochSeconds(date), 0LL, static_cast<long long>(kDeltaSecondsMax.count())));
  }
  if (!StatusHeuristicallyCacheable(status) && !cc.public_) return seconds(0);
  auto lm_text = SingletonField(response, bhttp::field::last_modified);
  auto last_modified = lm_text ? ParseHttpDate(*lm_text, response_time) : std::nullopt;
  if (!last_modified) return seconds(0);
  long long unchanged_for = EpochSeconds(date) - EpochSeconds(*last_modified);
  if (unchanged_for <= 0) return seconds(0);
  auto heuristic = static_cast<long long>(static_cast<double>(unchanged_for) * options.heuristic_fraction);
  return seconds(std::clamp(heuristic, 0LL, static_cast<long long>(options.heuristic_max.count())));
}

seconds CurrentAge(const bhttp::fields& response, HttpTime request_time, HttpTime response_time, HttpTime now) {
  long long age_value = 0;
  if (response.find(bhttp::field::age) != response.end()) {
    auto v = SingletonField(response, bhttp::field::age);
    auto parsed = v ? ParseDeltaSeconds(*v) : std::nullopt;
    age_value = parsed ? parsed->count() : kDeltaSecondsMax.count();  // invalid Age: treat as very old
  }
  const long long date_value = EpochSeconds(DateOf(response, response_time));
  const long long response_s = EpochSeconds(response_time);
  const long long apparent_age = std::max(0LL, response_s - date_value);
  const long long response_delay = std::max(0LL, response_s - EpochSeconds(request_time));
  const long long corrected_age_value = age_value + response_delay;
  const long long corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const long long resident_time = std::max(0LL, EpochSeconds(now) - response_s);
  return seconds(corrected_initial_age + resident_time);
}

std::string AgeFieldValue(seconds current_age) { return std::to_string(std::clamp(current_age, seconds(0), kDeltaSecondsMax).count()); }

// --- Vary

std::optional<std::string> SecondaryKey(const bhttp::fields& response, const bhttp::fields& request) {
  auto names = VaryNames(response);
  if (!names) return std::nullopt;
  std::string key;
  for (const auto& name : *names) {
    AppendLengthPrefixed(key, name);
    std::vector<std::string_view> lines;
    auto [b, e] = request.equal_range(name);
    for (auto it = b; it != e; ++it) lines.emplace_back(it->value().data(), it->value().size());
    if (lines.empty()) {
      key += '-';  // absent: matches only absent
    } else {
      key += '+';
      AppendLengthPrefixed(key, NormalizedValue(lines));
    }
  }
  return key;
}

bool VaryMatches(const bhttp::fields& stored_response, std::string_view stored_key, const bhttp::fields& request) {
  auto key = SecondaryKey(stored_response, request);
  return key && *key == stored_key;
}

// --- Reuse

std::string_view LookupActionName(LookupAction action) {
  switch (action) {
    case LookupAction::kServe:
      return "serve";
    case LookupAction::kRevalidate:
      return "revalidate";
    case LookupAction::kForward:
      return "forward";
    case LookupAction::kGatewayTimeout:
      return "gateway-timeout";
  }
  return "unknown";
}

bhttp::fields ConditionalHeaders(const bhttp::fields& stored_response) {
  bhttp::fields out;
  if (auto etag = SingletonField(stored_response, bhttp::field::etag); etag && !etag->empty()) out.set(bhttp::field::if_none_match, *etag);
  if (auto lm = SingletonField(stored_response, bhttp::field::last_modified); lm && !lm->empty())
    out.set(bhttp::field::if_modified_since, *lm);
  return out;
}

LookupDecision DecideOnMiss(const bhttp::fields& request) {
  LookupDecision d;
  if (RequestCacheControl(request).only_if_cached) {
    d.action = LookupAction::kGatewayTimeout;
    d.reason = "only-if-cached-miss";
  } else {
    d.action = LookupAction::kForward;
    d.reason = "miss";
  }
  return d;
}

LookupDecision Lookup(bhttp::verb method, const bhttp::fields& request, const StoredResponseView& stored, HttpTime now,
                      const CachePolicyOptions& options) {
  const bhttp::fields& headers = *stored.headers;
  LookupDecision d;
  d.current_age = CurrentAge(headers, stored.request_time, stored.response_time, now);
  d.freshness_lifetime = FreshnessLifetime(stored.status, headers, stored.response_time, options);
  d.stale = d.freshness_lifetime <= d.current_age;
  const CacheControl req = RequestCacheControl(request);
  const CacheControl resp = ParseCacheControl(headers);
  // s-maxage implies proxy-revalidate for a shared cache (§5.2.2.10).
  const bool stale_forbidden = resp.must_revalidate || resp.proxy_revalidate || resp.s_maxage.has_value() || resp.no_cache;
  d.may_serve_stale_if_unreachable = !stale_forbidden;

  auto finish = [&](LookupAction action, std::string_view reason) -> LookupDecision {
    if (req.only_if_cached && action != LookupAction::kServe) {
      d.action = LookupAction::kGatewayTimeout;
      d.reason = "only-if-cached";
      return std::move(d);
    }
    d.action = action;
    d.reason = reason;
    if (action == LookupAction::kRevalidate) d.conditional_headers = ConditionalHeaders(headers);
    return std::move(d);
  };

  if (method != bhttp::verb::get && method != bhttp::verb::head) {
    d.action = LookupAction::kForward;  // not a cache question; only-if-cached can't apply
    d.reason = "method";
    return d;
  }
  if (!VaryMatches(headers, stored.secondary_key, request)) return finish(LookupAction::kForward, "vary-mismatch");
  if (req.no_cache) return finish(LookupAction::kRevalidate, "request-no-cache");
  if (resp.no_cache) return finish(LookupAction::kRevalidate, "response-no-cache");
  if (req.max_age && (req.max_age->count() == 0 || d.current_age > *req.max_age))
    return finish(LookupAction::kRevalidate, "request-max-age");
  if (!d.stale) {
    if (req.min_fresh && d.freshness_lifetime - d.current_age < *req.min_fresh)
      return finish(LookupAction::kRevalidate, "request-min-fresh");
    return finish(LookupAction::kServe, "fresh");
  }
  if (!stale_forbidden && (req.max_stale_any || (req.max_stale && d.current_age - d.freshness_lifetime <= *req.max_stale)))
    return finish(LookupAction::kServe, "stale-within-max-stale");
  return finish(LookupAction::kRevalidate, "stale");
}

// --- Updating after revalidation

bool NotModifiedSelects(const bhttp::fields& stored_response, const bhttp::fields& not_modified) {
  auto nm_etag = SingletonField(not_modified, bhttp::field::etag);
  auto st_etag = SingletonField(stored_response, bhttp::field::etag);
  if (nm_etag && !nm_etag->empty()) return st_etag && OpaqueTag(*st_etag) == OpaqueTag(*nm_etag);
  auto nm_lm = SingletonField(not_modified, bhttp::field::last_modified);
  if (nm_lm && !nm_lm->empty()) {
    auto st_lm = SingletonField(stored_response, bhttp::field::last_modified);
    return st_lm && *st_lm == *nm_lm;
  }
  return true;
}

bool UpdateFromNotModified(bhttp::fields& stored_response, const bhttp::fields& not_modified, HttpTime response_time) {
  if (!NotModifiedSelects(stored_response, not_modified)) return false;
  // Kept, the old Date and Age would make the just-revalidated response look as old as
  // the first fetch (§4.2.3 measures from the response times the caller now resets).
  stored_response.erase(bhttp::field::age);
  stored_response.erase(bhttp::field::date);
  std::set<std::string> connection_named;
  for (auto line : FieldLines(not_modified, bhttp::field::connection))
    for (auto e : ListElements(line)) connection_named.insert(Lower(e));
  auto excluded = [&](const bhttp::fields::value_type& f) {
    return ExcludedFromUpdate(f.name()) || connection_named.count(Lower(std::string_view(f.name_string().data(), f.name_string().size())));
  };
  // Every line of a field the 304 carries replaces every stored line of that name.
  std::set<std::string> replaced;
  for (const auto& f : not_modified) {
    if (excluded(f)) continue;
    std::string name = Lower(std::string_view(f.name_string().data(), f.name_string().size()));
    if (replaced.insert(name).second) stored_response.erase(name);
  }
  for (const auto& f : not_modified) {
    if (excluded(f)) continue;
    stored_response.insert(f.name_string(), f.value());
  }
  EnsureDate(stored_response, response_time);
  return true;
}

bool InvalidatesStored(bhttp::verb method, unsigned status) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::trace:
      return false;
    default:
      return status >= 200 && status < 400;
  }
}

}  // namespace tacc::tacc_layer
