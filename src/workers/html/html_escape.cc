#include "workers/html/html_escape.h"

#include <fmt/format.h>

#include <cstdint>

namespace tacc::workers::html {
namespace {

// The UTF-8 character at s[i] (its length in *n), or -1 if the bytes are not one.
int32_t DecodeUtf8(std::string_view s, size_t i, size_t* n) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (len == 0 || i + len > s.size()) return -1;
  int32_t cp = c & (0x7f >> len);
  for (int k = 1; k < len; ++k) {
    if ((b(k) & 0xc0) != 0x80) return -1;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not characters.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  *n = static_cast<size_t>(len);
  return cp;
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
          if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    size_t n = 1;
    int32_t cp = DecodeUtf8(text, i, &n);
    out += fmt::format("&#x{:X};", cp < 0 ? 0xfffd : cp);
    i += cp < 0 ? 1 : n;
  }
  return out;
}

}  // namespace tacc::workers::html
