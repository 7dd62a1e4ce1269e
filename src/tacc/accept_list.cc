#include "tacc/accept_list.h"

#include <cctype>
#include <charconv>

#include "common/text.h"

namespace tacc::tacc_layer {
namespace {

bool Token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos)) return false;
  return true;
}

// "0.8" -> 0.8; RFC 9110 §12.4.2: at most three decimals, within 0..1.
bool ParseQ(std::string_view s, double* q) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 1) return false;
  *q = v;
  return true;
}

}  // namespace

AcceptList AcceptList::Parse(std::string_view field) {
  AcceptList out;
  if (TrimOws(field).empty()) return out;
  out.any_ = false;
  while (!field.empty()) {
    auto comma = field.find(',');
    std::string_view item = TrimOws(field.substr(0, comma));
    field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
    auto semi = item.find(';');
    std::string_view range = TrimOws(item.substr(0, semi));
    auto slash = range.find('/');
    if (slash == std::string_view::npos) continue;
    Member m;
    m.type = AsciiLower(range.substr(0, slash));
    m.subtype = AsciiLower(range.substr(slash + 1));
    if (!Token(m.type) || !Token(m.subtype) || (m.type == "*" && m.subtype != "*")) continue;
    bool ok = true;
    while (semi != std::string_view::npos && ok) {
      std::string_view params = item.substr(semi + 1);
      auto next = params.find(';');
      std::string_view p = TrimOws(params.substr(0, next));
      if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') ok = ParseQ(p.substr(2), &m.q);
      semi = next == std::string_view::npos ? next : semi + 1 + next;
    }
    if (ok) out.members_.push_back(std::move(m));
  }
  if (out.members_.empty()) out.any_ = true;  // nothing usable: as if absent
  return out;
}

double AcceptList::Quality(std::string_view essence) const {
  if (any_) return 1;
  auto slash = essence.find('/');
  if (slash == std::string_view::npos) return 0;
  std::string_view type = essence.substr(0, slash), subtype = essence.substr(slash + 1);
  int best = -1;
  double q = 0;
  for (const auto& m : members_) {
    int specificity = -1;
    if (m.type == type && m.subtype == subtype) specificity = 2;
    else if (m.type == type && m.subtype == "*") specificity = 1;
    else if (m.type == "*") specificity = 0;
    if (specificity > best) {
      best = specificity;
      q = m.q;
    }
  }
  return q;
}

}  // namespace tacc::tacc_layer
