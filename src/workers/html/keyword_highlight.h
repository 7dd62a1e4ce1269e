// HighlightKeyword: what the keyword_filter worker does to a page (issue 8: "highlights
// matches of a per-user pattern in text, not in tags, scripts or styles"). Each match
// (keyword_matcher.h) in a text node is wrapped in <mark class="tacc-kw">...</mark>,
// inserted at the match's exact source offsets (html_splicer.h): the page is otherwise
// the input byte for byte.
//
// Searched: text in HTML elements. Not searched: tags and attributes (never text),
// comments, CDATA, <template> contents (not rendered), and everything inside script, style, textarea, title, xmp, iframe,
// noembed, noframes, noscript, plaintext (raw text to a browser), select/option (a mark
// there is dropped), SVG and MathML, and an existing tacc-kw mark (a page filtered twice).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "workers/html/html_parse.h"
#include "workers/html/html_splicer.h"

namespace tacc::workers::html {

struct HighlightResult {
  std::string html;
  std::vector<Insertion> insertions;  // as applied (sorted by offset)
  int matches = 0;
};

inline constexpr std::string_view kMarkOpen = R"(<mark class="tacc-kw">)";
inline constexpr std::string_view kMarkClose = "</mark>";

// Errors are ParsedHtml::Parse's: the caller answers the page as it came.
Result<HighlightResult> HighlightKeyword(std::string_view html, std::string_view keyword, const ParseLimits& limits);

}  // namespace tacc::workers::html
