#include "workers/html/keyword_highlight.h"

#include <cstring>

#include "workers/html/keyword_matcher.h"

namespace tacc::workers::html {
namespace {

// Elements whose text is not searched (with everything under them).
bool Skipped(const GumboElement& e) {
  if (e.tag_namespace != GUMBO_NAMESPACE_HTML) return true;
  switch (e.tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_XMP:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_PLAINTEXT:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_OPTION:
    case GUMBO_TAG_OPTGROUP:
      return true;
    case GUMBO_TAG_MARK: {
      const GumboAttribute* c = gumbo_get_attribute(&e.attributes, "class");
      return c && std::strcmp(c->value, "tacc-kw") == 0;
    }
    default:
      return false;
  }
}

}  // namespace

Result<HighlightResult> HighlightKeyword(std::string_view html, std::string_view keyword, const ParseLimits& limits) {
  auto parsed = ParsedHtml::Parse(html, limits);
  if (!parsed.ok()) return parsed.status();
  const ParsedHtml& doc = **parsed;
  const KeywordMatcher matcher(keyword);
  HighlightResult r;
  Splicer splicer;
  std::vector<const GumboNode*> stack{doc.output().document};  // iterative: pages nest deep
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT) {
      const GumboStringPiece& t = n->v.text.original_text;
      if (!t.data || t.length == 0 || !doc.Within(t.data, t.length)) continue;
      const size_t base = doc.OffsetOf(t.data);
      for (auto [from, to] : matcher.Find(std::string_view(t.data, t.length))) {
        splicer.Insert(base + from, std::string(kMarkOpen));
        splicer.Insert(base + to, std::string(kMarkClose));
        ++r.matches;
      }
      continue;
    }
    const GumboVector* kids = nullptr;
    if (n->type == GUMBO_NODE_DOCUMENT) kids = &n->v.document.children;
    else if (n->type == GUMBO_NODE_ELEMENT && !Skipped(n->v.element)) kids = &n->v.element.children;
    if (!kids) continue;
    for (unsigned i = kids->length; i-- > 0;) stack.push_back(static_cast<const GumboNode*>(kids->data[i]));
  }
  r.insertions = splicer.Sorted();
  r.html = splicer.Apply(html);
  return r;
}

}  // namespace tacc::workers::html
