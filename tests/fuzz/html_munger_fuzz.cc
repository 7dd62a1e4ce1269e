// libFuzzer target for the HTML workers (issue 8): the bytes any origin can put in a page.
//
// The input is a page. It goes through MungeHtml and then HighlightKeyword (the chain
// "html_munger | keyword_filter") with a keyword taken from its first bytes. Checks: no
// crash or sanitizer report; each output less its insertions is its input byte for
// byte; everything inserted is ASCII; each insertion is where its kind may be (the
// image mark just before an img tag's '>' or "/>", a link just after a '>', marks in
// pairs around text that matches the keyword).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "workers/html/html_munge.h"
#include "workers/html/keyword_highlight.h"

namespace {

using namespace tacc::workers::html;

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "html_munger_fuzz: %s\n", what);
    abort();
  }
}

void CheckAscii(const std::vector<Insertion>& insertions) {
  for (const auto& i : insertions)
    for (char c : i.text) Check(static_cast<unsigned char>(c) < 0x80, "inserted a byte that is not ASCII");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first byte: the keyword's length (0-3), taken from the next bytes; the rest is the page.
  std::string keyword;
  if (!in.empty()) {
    size_t n = static_cast<uint8_t>(in[0]) % 4;
    in.remove_prefix(1);
    n = std::min(n, in.size());
    keyword = std::string(in.substr(0, n));
    in.remove_prefix(n);
  }
  const std::string page(in);
  ParseLimits limits;
  limits.max_time = std::chrono::milliseconds(10000);

  MungeOptions o;
  o.page_url = "http://example.com/dir/page.html";
  o.prefs.quality = "25";
  o.prefs.keyword = keyword;
  o.limits = limits;
  auto munged = MungeHtml(page, o);
  Check(munged.ok(), "MungeHtml failed on a small page");
  std::string back;
  Check(RemoveInsertions(munged->html, munged->insertions, &back), "munger: an insertion is not where it says");
  Check(back == page, "munger: the output less its insertions is not the input");
  CheckAscii(munged->insertions);
  for (const auto& i : munged->insertions) {
    Check(i.offset <= page.size(), "munger: insertion past the end");
    if (i.text.starts_with(" data-tacc=")) {
      Check(page.compare(i.offset, 1, ">") == 0 || page.compare(i.offset, 2, "/>") == 0, "munger: image mark not at the end of a tag");
    } else if (i.text.starts_with("<a class=\"tacc-orig\"")) {
      Check(i.offset > 0 && page[i.offset - 1] == '>', "munger: refinement link not after a tag");
    } else {
      Check(i.text.starts_with("<div id=\"tacc-toolbar\""), "munger: unknown insertion");
    }
  }

  bool control = false;
  for (char c : keyword) control = control || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  if (keyword.empty() || control) return 0;  // the worker would not filter
  auto lit = HighlightKeyword(munged->html, keyword, limits);
  Check(lit.ok(), "HighlightKeyword failed on a small page");
  Check(RemoveInsertions(lit->html, lit->insertions, &back), "filter: an insertion is not where it says");
  Check(back == munged->html, "filter: the output less its insertions is not the input");
  CheckAscii(lit->insertions);
  Check(lit->insertions.size() == 2 * static_cast<size_t>(lit->matches), "filter: marks not in pairs");
  for (size_t k = 0; k + 1 < lit->insertions.size(); k += 2) {
    const Insertion& open = lit->insertions[k];
    const Insertion& close = lit->insertions[k + 1];
    Check(open.text == kMarkOpen && close.text == kMarkClose, "filter: marks out of order");
    Check(close.offset > open.offset, "filter: empty mark");
    // The marked bytes: the keyword, ASCII case aside, when it holds no reference.
    std::string_view marked = std::string_view(munged->html).substr(open.offset, close.offset - open.offset);
    if (marked.find('&') == std::string_view::npos) {
      Check(marked.size() == keyword.size(), "filter: marked text is not the keyword");
      for (size_t j = 0; j < marked.size(); ++j)
        Check(std::tolower(static_cast<unsigned char>(marked[j])) == std::tolower(static_cast<unsigned char>(keyword[j])), "filter: marked text differs");
    }
    Check(marked.find('<') == std::string_view::npos || keyword.find('<') != std::string::npos, "filter: marked markup");
  }
  return 0;
}
