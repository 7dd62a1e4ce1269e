// MungeHtml: what the html_munger worker does to a page (issue 8; paper §2.3, Figure 1:
// "the HTML munger marks up inline images with the user's preferences and adds links
// to the originals"). Insertions only, at offsets gumbo's source positions give (see
// html_splicer.h): the page is otherwise the input byte for byte.
//
// Inserted:
//   * in each <img> start tag with a src (not data:), just before its closing '>' (or
//     before "/>" when the slash is not part of an unquoted value):
//     ` data-tacc="q=25;w=320;gray=1;f=webp"` (the preferences set; "auto" if none).
//     An <img> already carrying data-tacc is left alone (a page munged twice).
//   * after each such image, a refinement link to its original:
//     `<a class="tacc-orig" href="/_tacc/orig?u=<percent-encoded absolute URL>">[orig]</a>`,
//     the src resolved against <base href> (the first one) over the page URL. An image
//     inside an <a> gets its link after that </a> (a link inside a link is not HTML);
//     when that </a> is not in the source (left open), the image gets no link. No link
//     either when the URL does not resolve to http(s) (no page URL and a relative src,
//     javascript:, ...) or the src has bytes gumbo could not read as UTF-8 (a Latin-1
//     page's non-ASCII path: which URL the browser would ask for is unknown).
//   * the toolbar (toolbar.h) right after the <body> start tag, or, if the page has no
//     <body> tag, just before the first thing in the body; none if the body is empty, in
//     a frameset page, or if the page already has one.
// Images in <noscript> (raw text to a browser with scripts), in <template> (not
// rendered) and in SVG/MathML are not touched.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "workers/html/html_parse.h"
#include "workers/html/html_splicer.h"
#include "workers/html/toolbar.h"

namespace tacc::workers::html {

struct MungeOptions {
  std::string page_url;  // absolute URL of the page; empty: relative srcs get no link
  PagePreferences prefs;
  bool toolbar = true;
  ParseLimits limits;
};

struct MungeResult {
  std::string html;
  std::vector<Insertion> insertions;  // as applied (sorted by offset)
  int images = 0;                     // images marked
  int links = 0;                      // refinement links added
  bool toolbar = false;
};

// Errors are ParsedHtml::Parse's (too large, over the parse budget): the caller answers
// the page as it came.
Result<MungeResult> MungeHtml(std::string_view html, const MungeOptions& options);

// The data-tacc value for `prefs`, unescaped: "q=25;w=320;gray=1;f=webp" or "auto".
std::string ImageMark(const PagePreferences& prefs);

// `src` resolved against `base` (absolute), as an absolute http(s) URL; empty if it
// can't be (malformed, another scheme).
std::string ResolveImageUrl(std::string_view base, std::string_view src);

}  // namespace tacc::workers::html
