// KeywordMatcher: where a user's keyword occurs in the source bytes of one text node, for
// the keyword_filter worker (issue 8). Plain text, compared ASCII case-insensitively
// (other bytes exactly), on the raw bytes as they are in the page: no decoding, so any
// charset whose ASCII bytes are ASCII works.
//
// Character references are never split: a reference (&name; &#123; &#x1F;, and the
// legacy names browsers read without ';', &amp &eacute...) is one unit that a match
// includes whole or not at all (a bare '&', as in "AT&T", is text); the keyword's
// & < > " ' and non-breaking space also match their usual references (&amp; &lt; &gt;
// &quot; &#39; &apos; &nbsp; and numeric forms), so "AT&T" finds "AT&amp;T". Other
// references are opaque: "cafe" does not find "caf&eacute;".
//
// A text node's source may span tags the parser ignored ("a</foo>b" is one text node to
// gumbo): only the text before the first tag-like '<' and after the last '>' of the node
// is searched, never markup. Matches are leftmost first and do not overlap ("aa" in
// "aaa": one match, the first two).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tacc::workers::html {

inline constexpr size_t kMaxKeywordBytes = 64;

class KeywordMatcher {
 public:
  // `keyword` should be non-empty (an empty one matches nothing).
  explicit KeywordMatcher(std::string_view keyword) : keyword_(keyword) {}
  // [begin, end) offsets within `raw`.
  std::vector<std::pair<size_t, size_t>> Find(std::string_view raw) const;

 private:
  // The end of a match of the keyword starting at raw[i] (within [i, limit)), or npos.
  size_t MatchAt(std::string_view raw, size_t i, size_t limit) const;
  std::string keyword_;
};

// The length of the character reference at s[i] (&name; &#123; &#x1F; with ';' if
// there is one, or a legacy name without it), or 0 if there is none there.
size_t ReferenceLength(std::string_view s, size_t i);

}  // namespace tacc::workers::html
