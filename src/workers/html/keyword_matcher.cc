#include "workers/html/keyword_matcher.h"

#include <cctype>

namespace tacc::workers::html {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EqualNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

// References that stand for a keyword character (compared without case: &AMP; is HTML too).
bool ReferenceMeans(std::string_view ref, char c) {
  if (!ref.empty() && ref.back() == ';') ref.remove_suffix(1);
  auto any = [&](std::initializer_list<std::string_view> names) {
    for (auto n : names)
      if (EqualNoCase(ref, n)) return true;
    return false;
  };
  switch (c) {
    case '&': return any({"&amp", "&#38", "&#x26", "&#038"});
    case '<': return any({"&lt", "&#60", "&#x3c", "&#060"});
    case '>': return any({"&gt", "&#62", "&#x3e", "&#062"});
    case '"': return any({"&quot", "&#34", "&#x22", "&#034"});
    case '\'': return any({"&apos", "&#39", "&#x27", "&#039"});
    case ' ': return any({"&nbsp", "&#160", "&#xa0"});
    default: return false;
  }
}

// The names browsers read as references even without ';' (the HTML standard's legacy
// entities: Latin-1 and & < > ").
constexpr std::string_view kLegacyNames[] = {
    "AElig", "AMP", "Aacute", "Acirc", "Agrave", "Aring", "Atilde", "Auml", "COPY", "Ccedil", "ETH", "Eacute", "Ecirc", "Egrave",
    "Euml", "GT", "Iacute", "Icirc", "Igrave", "Iuml", "LT", "Ntilde", "Oacute", "Ocirc", "Ograve", "Oslash", "Otilde", "Ouml",
    "QUOT", "REG", "THORN", "Uacute", "Ucirc", "Ugrave", "Uuml", "Yacute", "aacute", "acirc", "acute", "aelig", "agrave", "amp",
    "aring", "atilde", "auml", "brvbar", "ccedil", "cedil", "cent", "copy", "curren", "deg", "divide", "eacute", "ecirc", "egrave",
    "eth", "euml", "frac12", "frac14", "frac34", "gt", "iacute", "icirc", "iexcl", "igrave", "iquest", "iuml", "laquo", "lt",
    "macr", "micro", "middot", "nbsp", "not", "ntilde", "oacute", "ocirc", "ograve", "ordf", "ordm", "oslash", "otilde", "ouml",
    "para", "plusmn", "pound", "quot", "raquo", "reg", "sect", "shy", "sup1", "sup2", "sup3", "szlig", "thorn", "times",
    "uacute", "ucirc", "ugrave", "uml", "uuml", "yacute", "yen", "yuml"};

bool StartsMarkup(std::string_view s, size_t i) {
  if (s[i] != '<' || i + 1 >= s.size()) return false;
  char n = s[i + 1];
  return std::isalpha(static_cast<unsigned char>(n)) || n == '/' || n == '!' || n == '?';
}

}  // namespace

size_t ReferenceLength(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '&') return 0;
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    ++j;
    const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
    if (hex) ++j;
    size_t digits = j;
    while (j < s.size() && (hex ? std::isxdigit(static_cast<unsigned char>(s[j])) : std::isdigit(static_cast<unsigned char>(s[j])))) ++j;
    if (j == digits) return 0;  // "&#" alone is text
    if (j < s.size() && s[j] == ';') ++j;
    return j - i;
  }
  size_t name = j;
  while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
  if (j == name || !std::isalpha(static_cast<unsigned char>(s[name]))) return 0;
  if (j < s.size() && s[j] == ';') return j + 1 - i;  // &name; (known or not: left whole)
  // Without ';': the longest legacy name the run starts with ("&notit" is "&not" + "it").
  std::string_view run = s.substr(name, j - name);
  size_t best = 0;
  for (auto n : kLegacyNames)
    if (n.size() > best && run.starts_with(n)) best = n.size();
  return best == 0 ? 0 : best + 1;
}

size_t KeywordMatcher::MatchAt(std::string_view raw, size_t i, size_t limit) const {
  size_t j = i;
  for (char k : keyword_) {
    if (j >= limit) return std::string_view::npos;
    if (size_t ref = ReferenceLength(raw, j); ref > 0) {
      if (j + ref > limit || !ReferenceMeans(raw.substr(j, ref), k)) return std::string_view::npos;
      j += ref;
      continue;
    }
    if (Lower(raw[j]) != Lower(k)) return std::string_view::npos;
    ++j;
  }
  return j;
}

std::vector<std::pair<size_t, size_t>> KeywordMatcher::Find(std::string_view raw) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (keyword_.empty()) return out;
  // The searchable regions: before the first tag-like '<', and after the last '>'.
  std::vector<std::pair<size_t, size_t>> regions;
  size_t markup = std::string_view::npos;
  for (size_t i = 0; i < raw.size(); ++i)
    if (StartsMarkup(raw, i)) {
      markup = i;
      break;
    }
  if (markup == std::string_view::npos) {
    regions.emplace_back(0, raw.size());
  } else {
    regions.emplace_back(0, markup);
    size_t gt = raw.rfind('>');
    if (gt != std::string_view::npos && gt > markup) regions.emplace_back(gt + 1, raw.size());
  }
  for (auto [from, to] : regions) {
    for (size_t i = from; i < to;) {
      size_t end = MatchAt(raw, i, to);
      if (end != std::string_view::npos && end > i) {
        out.emplace_back(i, end);
        i = end;
        continue;
      }
      size_t ref = ReferenceLength(raw, i);
      i += ref > 0 && i + ref <= to ? ref : 1;  // never start inside a reference
    }
  }
  return out;
}

}  // namespace tacc::workers::html
