#include "http/proxy_headers.h"

#include "common/text.h"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace tacc::http {

namespace bhttp = boost::beast::http;

namespace {

// The elements of a comma-separated list field, commas inside a parenthesised comment
// (Via allows them) not splitting; empty elements dropped (RFC 9110 §5.6.1).
std::vector<std::string_view> ListElements(std::string_view value) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    char c = i < value.size() ? value[i] : ',';
    if (c == '(') ++depth;
    else if (c == ')' && depth > 0) --depth;
    else if (c == '\\' && depth > 0) ++i;  // quoted-pair inside a comment
    else if (c == ',' && depth == 0) {
      auto e = TrimOws(value.substr(start, i - start));
      if (!e.empty()) out.push_back(e);
      start = i + 1;
    }
  }
  return out;
}

bool IsTokenChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; }

}  // namespace

void RemoveHopByHop(bhttp::fields& fields) {
  // Fields the Connection header names are hop-by-hop too, whatever they are.
  std::vector<std::string> named;
  auto [cb, ce] = fields.equal_range(bhttp::field::connection);
  for (auto it = cb; it != ce; ++it)
    for (auto e : ListElements(it->value())) named.emplace_back(e);
  static constexpr bhttp::field kHopByHop[] = {
      bhttp::field::connection,         bhttp::field::keep_alive, bhttp::field::proxy_connection, bhttp::field::proxy_authenticate,
      bhttp::field::proxy_authorization, bhttp::field::te,        bhttp::field::trailer,          bhttp::field::transfer_encoding,
      bhttp::field::upgrade,
  };
  for (auto f : kHopByHop) fields.erase(f);
  for (auto& n : named) fields.erase(n);
}

void AppendVia(bhttp::fields& fields, std::string_view protocol, std::string_view pseudonym) {
  std::string entry;
  entry.reserve(protocol.size() + 1 + pseudonym.size());
  entry.append(protocol).append(" ");
  for (char c : pseudonym) entry += IsTokenChar(c) ? c : '-';
  fields.insert(bhttp::field::via, entry);  // a field line of its own: same as appending to the list
}

bool ViaHasLoop(const bhttp::fields& fields, std::string_view pseudonym) {
  auto [vb, ve] = fields.equal_range(bhttp::field::via);
  for (auto it = vb; it != ve; ++it) {
    for (auto e : ListElements(it->value())) {
      // received-protocol RWS received-by [ RWS comment ]
      auto sp = e.find_first_of(" \t");
      if (sp == std::string_view::npos) continue;
      auto rest = TrimOws(e.substr(sp + 1));
      auto by = rest.substr(0, rest.find_first_of(" \t"));
      if (boost::beast::iequals(by, pseudonym)) return true;
    }
  }
  return false;
}

std::string ProtocolVersion(unsigned version) { return std::to_string(version / 10) + "." + std::to_string(version % 10); }

}  // namespace tacc::http
