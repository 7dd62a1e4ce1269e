#include "tools/page_maker.h"

#include <fmt/format.h>

#include <array>
#include <random>

namespace tacc::tools {

namespace {

constexpr std::array<const char*, 96> kWords = {
    "the",      "of",      "and",     "to",       "in",      "is",       "that",    "for",     "it",       "as",       "was",      "with",
    "be",       "by",      "on",      "not",      "he",      "this",     "are",     "or",      "his",      "from",     "at",       "which",
    "but",      "have",    "an",      "had",      "they",    "you",      "were",    "their",   "one",      "all",      "we",       "can",
    "her",      "has",     "there",   "been",     "if",      "more",     "when",    "will",    "would",    "who",      "so",       "no",
    "network",  "service", "cluster", "proxy",    "image",   "page",     "modem",   "users",   "campus",   "server",   "request",  "cache",
    "download", "picture", "travel",  "weather",  "sports",  "music",    "students", "library", "research", "software", "computer", "science",
    "berkeley", "news",    "home",    "links",    "photos",  "gallery",  "contact", "about",   "world",    "internet", "online",   "free",
    "new",      "best",    "first",   "last",     "great",   "small",    "large",   "local",   "public",   "early",    "recent",   "open"};

std::string Sentence(std::mt19937_64& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    std::string w = kWords[rng() % kWords.size()];
    if (i == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    s += (i ? " " : "") + w;
  }
  return s + ".";
}

// `text` cut or padded (with an HTML/CSS/JS comment of filler words) to exactly `bytes`,
// keeping `tail` (closing tags) at its end.
std::string FitTo(std::string head, const std::string& tail, int64_t bytes, const char* open, const char* close, std::mt19937_64& rng) {
  int64_t room = bytes - static_cast<int64_t>(tail.size());
  int64_t overhead = static_cast<int64_t>(std::char_traits<char>::length(open) + std::char_traits<char>::length(close));
  if (static_cast<int64_t>(head.size()) > room) {
    head.resize(static_cast<size_t>(std::max<int64_t>(0, room)));
  } else if (room - static_cast<int64_t>(head.size()) >= overhead + 1) {
    std::string fill;
    int64_t want = room - static_cast<int64_t>(head.size()) - overhead;
    while (static_cast<int64_t>(fill.size()) < want) fill += Sentence(rng, 8) + " ";
    fill.resize(static_cast<size_t>(want));
    head += open + fill + close;
  } else {
    head.append(static_cast<size_t>(room - static_cast<int64_t>(head.size())), '\n');
  }
  return head + tail;
}

}  // namespace

std::string MakeHtmlPage(int64_t bytes, uint64_t seed, const std::vector<std::string>& image_urls, const std::vector<std::string>& page_urls) {
  std::mt19937_64 rng(seed);
  std::string title = Sentence(rng, 4);
  title.pop_back();
  std::string head = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n<h1>{}</h1>\n", title, title);
  const std::string tail = "</body>\n</html>\n";
  size_t img = 0, link = 0;
  // Paragraphs, with a picture every so often and links, until the page is full.
  while (static_cast<int64_t>(head.size() + tail.size()) < bytes - 200) {
    int kind = static_cast<int>(rng() % 10);
    if (kind < 2 && img < image_urls.size()) {
      const auto& src = image_urls[img++];
      head += fmt::format("<p><img src=\"{}\" alt=\"{}\"></p>\n", src, Sentence(rng, 3));
    } else if (kind < 3) {
      head += fmt::format("<h2>{}</h2>\n", Sentence(rng, 3));
    } else if (kind < 4 && link < page_urls.size()) {
      head += fmt::format("<ul><li><a href=\"{}\">{}</a></li></ul>\n", page_urls[link++], Sentence(rng, 4));
    } else {
      std::string p = "<p>";
      int n = 2 + static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) p += Sentence(rng, 6 + static_cast<int>(rng() % 12)) + " ";
      head += p + "</p>\n";
    }
  }
  return FitTo(head, tail, bytes, "<!-- ", " -->\n", rng);
}

std::string MakeErrorPage(int64_t bytes, const std::string& path) {
  std::mt19937_64 rng(bytes);
  std::string head = fmt::format(
      "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
      "<p>The requested URL {} was not found on this server.</p>\n<hr>\n",
      path.substr(0, 120));
  return FitTo(head, "</body></html>\n", bytes, "<!-- ", " -->\n", rng);
}

std::string MakeStyleSheet(int64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string css;
  static const char* kSel[] = {"body", "h1", "h2", "p", "a", "a:hover", ".nav", ".footer", "#main", "img", "ul li", "table td"};
  static const char* kProp[] = {"margin: 0 auto", "color: #333", "font-family: Helvetica, Arial, sans-serif", "padding: 4px 8px", "border: 1px solid #ccc",
                                "background: #f8f8f8", "text-decoration: none", "font-size: 14px", "line-height: 1.4"};
  while (static_cast<int64_t>(css.size()) < bytes - 120) {
    css += fmt::format("{} {{ {}; {}; }}\n", kSel[rng() % 12], kProp[rng() % 9], kProp[rng() % 9]);
  }
  return FitTo(css, "", bytes, "/* ", " */\n", rng);
}

std::string MakeScript(int64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string js = "(function () {\n  'use strict';\n";
  const std::string tail = "})();\n";
  int f = 0;
  while (static_cast<int64_t>(js.size() + tail.size()) < bytes - 120) {
    js += fmt::format("  function f{}(x) {{ return x * {} + {}; }}\n  var v{} = f{}({});\n", f, rng() % 97, rng() % 13, f, f, rng() % 1000);
    ++f;
  }
  return FitTo(js, tail, bytes, "/* ", " */\n", rng);
}

std::string MakeBinary(int64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(static_cast<size_t>(std::max<int64_t>(0, bytes)), '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace tacc::tools
