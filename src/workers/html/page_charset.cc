#include "workers/html/page_charset.h"

#include <array>
#include <cctype>

namespace tacc::workers::html {

std::string CharsetOf(std::string_view mime) {
  std::string lower;
  for (char c : mime) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = 0;
  while ((at = lower.find("charset", at)) != std::string::npos) {
    size_t i = at + 7;
    // a parameter name: after ';' (and spaces)
    size_t before = at;
    while (before > 0 && (lower[before - 1] == ' ' || lower[before - 1] == '\t')) --before;
    at = i;
    if (before == 0 || lower[before - 1] != ';') continue;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
    if (i >= lower.size() || lower[i] != '=') continue;
    ++i;
    while (i < lower.size() && (lower[i] == ' ' || lower[i] == '\t')) ++i;
    size_t end = lower.find(';', i);
    std::string v = lower.substr(i, end == std::string::npos ? std::string::npos : end - i);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

CharsetFit ClassifyCharset(std::string_view mime, std::string_view body) {
  if (body.starts_with("\xFE\xFF") || body.starts_with("\xFF\xFE")) return CharsetFit::kNone;  // UTF-16 (or 32) BOM
  const std::string cs = CharsetOf(mime);
  if (cs.starts_with("utf-16") || cs.starts_with("utf-32") || cs.starts_with("utf16") || cs.starts_with("utf32") || cs == "ucs-2" ||
      cs == "utf-7" || cs.starts_with("iso-2022") || cs == "csiso2022jp")
    return CharsetFit::kNone;
  static constexpr std::array<std::string_view, 14> kDoubleByte = {"shift_jis", "shift-jis", "sjis",  "x-sjis", "ms_kanji", "csshiftjis", "windows-31j",
                                                                  "cp932",     "big5",      "big5-hkscs", "gbk", "gb18030", "cp936", "x-gbk"};
  for (auto d : kDoubleByte)
    if (cs == d) return CharsetFit::kTagsOnly;
  return CharsetFit::kAscii;
}

}  // namespace tacc::workers::html
