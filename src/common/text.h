// Small text helpers for protocol fields, shared by the HTTP and TACC layers.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace tacc {

// `s` without the optional whitespace (spaces and tabs, RFC 9110 §5.6.3) around it.
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `s` with ASCII letters in lower case (field values, tokens; not locale-dependent).
inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// `s` for HTML text or a quoted attribute value: & < > " ' as character references, the
// rest as is (the front end's own pages; the HTML workers, which insert into pages of any
// charset, have their ASCII-only EscapeHtml in workers/html/html_escape.h).
inline std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace tacc
