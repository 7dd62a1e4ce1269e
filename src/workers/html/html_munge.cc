#include "workers/html/html_munge.h"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cstring>

#include "workers/html/html_escape.h"

namespace tacc::workers::html {
namespace {

bool IsHtmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsHtmlSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsHtmlSpace(s.back())) s.remove_suffix(1);
  return s;
}

// An attribute value as a URI reference a parser accepts, the way browsers clean one:
// no tabs or newlines, other bytes a URI can't hold percent-encoded (as UTF-8).
std::string CleanReference(std::string_view s) {
  static constexpr std::string_view kAllowed = "-._~:/?#[]@!$&'()*+,;=";
  std::string out;
  bool fragment = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) && std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += '%';
      continue;
    }
    if (c == '#' && !fragment) {
      fragment = true;
      out += '#';
      continue;
    }
    if (c < 0x80 && c != '%' && c != '#' && (std::isalnum(c) || kAllowed.find(static_cast<char>(c)) != std::string_view::npos)) {
      out += static_cast<char>(c);
      continue;
    }
    out += fmt::format("%{:02X}", c);
  }
  return out;
}

bool IsStartTag(std::string_view tag) {
  return tag.size() >= 3 && tag.front() == '<' && std::isalpha(static_cast<unsigned char>(tag[1])) && tag.back() == '>';
}

const GumboVector& Children(const GumboNode* n) {
  return n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
}

// The element's start tag as it is in the source, or empty (implied, converted from an
// end tag, or not where it should be).
std::string_view SourceStartTag(const ParsedHtml& doc, const GumboNode* n) {
  const GumboStringPiece& t = n->v.element.original_tag;
  if (t.length == 0 || !t.data || !doc.Within(t.data, t.length)) return {};
  std::string_view tag(t.data, t.length);
  return IsStartTag(tag) ? tag : std::string_view{};
}

// Where the data-tacc attribute goes in `img`'s start tag `tag`: before the '>', or
// before "/>" when that slash ends the tag rather than an unquoted value (src=a/>).
size_t AttributeOffset(const ParsedHtml& doc, const GumboElement& img, std::string_view tag) {
  const size_t gt = doc.OffsetOf(tag.data()) + tag.size() - 1;
  if (tag.size() < 2 || tag[tag.size() - 2] != '/') return gt;
  const size_t slash = gt - 1;
  for (unsigned i = 0; i < img.attributes.length; ++i) {
    const auto* a = static_cast<const GumboAttribute*>(img.attributes.data[i]);
    if (!a->original_value.data || !doc.Within(a->original_value.data, a->original_value.length)) continue;
    const size_t from = doc.OffsetOf(a->original_value.data);
    if (slash >= from && slash < from + a->original_value.length) return gt;  // the slash is the value's
  }
  return slash;
}

struct Visit {
  const GumboNode* node;
  const GumboNode* link;  // the nearest enclosing <a>, or null
  bool noscript;
};

struct Found {
  std::vector<std::pair<const GumboNode*, const GumboNode*>> images;  // (img, enclosing a)
  const GumboNode* body = nullptr;
  std::string base_href;
  bool has_toolbar = false;
};

// Everything the munger needs, in one pass in document order (iterative: pages may nest
// deeper than a stack).
Found Collect(const ParsedHtml& doc) {
  Found f;
  bool base_seen = false;
  std::vector<Visit> stack{{doc.output().document, nullptr, false}};
  while (!stack.empty()) {
    Visit v = stack.back();
    stack.pop_back();
    const GumboNode* n = v.node;
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT) continue;  // text, comments, <template> (not rendered)
    if (n->type == GUMBO_NODE_ELEMENT) {
      const GumboElement& e = n->v.element;
      if (e.tag_namespace != GUMBO_NAMESPACE_HTML) continue;  // SVG, MathML: not ours
      if (const GumboAttribute* id = gumbo_get_attribute(&e.attributes, "id"); id && std::strcmp(id->value, "tacc-toolbar") == 0)
        f.has_toolbar = true;
      if (e.tag == GUMBO_TAG_BODY && !f.body && n->parent == doc.output().root) f.body = n;
      if (e.tag == GUMBO_TAG_BASE && !base_seen) {
        if (const GumboAttribute* href = gumbo_get_attribute(&e.attributes, "href")) {
          base_seen = true;
          f.base_href = href->value;
        }
      }
      if (e.tag == GUMBO_TAG_IMG && !v.noscript) f.images.emplace_back(n, v.link);
      if (e.tag == GUMBO_TAG_A) v.link = n;
      if (e.tag == GUMBO_TAG_NOSCRIPT) v.noscript = true;
    }
    const GumboVector& kids = Children(n);
    for (unsigned i = kids.length; i-- > 0;) stack.push_back({static_cast<const GumboNode*>(kids.data[i]), v.link, v.noscript});
  }
  return f;
}

// The offset just before the first thing of `body` (whose tag is not in the source): the
// smallest source offset in its subtree; npos if none.
size_t FirstContentOffset(const ParsedHtml& doc, const GumboNode* body) {
  size_t best = std::string_view::npos;
  std::vector<const GumboNode*> stack;
  const GumboVector& kids = body->v.element.children;
  for (unsigned i = 0; i < kids.length; ++i) stack.push_back(static_cast<const GumboNode*>(kids.data[i]));
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) {
      std::string_view tag = SourceStartTag(doc, n);
      if (!tag.empty()) best = std::min(best, doc.OffsetOf(tag.data()));
      const GumboVector& c = n->v.element.children;
      for (unsigned i = 0; i < c.length; ++i) stack.push_back(static_cast<const GumboNode*>(c.data[i]));
    } else if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_COMMENT || n->type == GUMBO_NODE_CDATA) {
      const GumboStringPiece& t = n->v.text.original_text;
      if (t.data && t.length > 0 && doc.Within(t.data, t.length)) best = std::min(best, doc.OffsetOf(t.data));
    }
  }
  return best;
}

}  // namespace

std::string ImageMark(const PagePreferences& p) {
  std::string mark;
  auto add = [&](const char* key, const std::string& v) {
    if (v.empty()) return;
    if (!mark.empty()) mark += ';';
    mark += key;
    mark += '=';
    mark += v;
  };
  add("q", p.quality);
  add("w", p.max_width);
  add("gray", p.gray);
  add("f", p.format);
  return mark.empty() ? "auto" : mark;
}

std::string ResolveImageUrl(std::string_view base, std::string_view src) {
  std::string ref_text = CleanReference(Trim(src));
  auto ref = boost::urls::parse_uri_reference(ref_text);
  if (!ref) return {};
  boost::urls::url out;
  if (ref->has_scheme()) {
    out = *ref;
  } else {
    auto b = boost::urls::parse_uri(base);
    if (!b || !boost::urls::resolve(*b, *ref, out)) return {};
  }
  if ((out.scheme() != "http" && out.scheme() != "https") || !out.has_authority() || out.host().empty()) return {};
  out.remove_fragment();
  return std::string(out.buffer());
}

Result<MungeResult> MungeHtml(std::string_view html, const MungeOptions& options) {
  auto parsed = ParsedHtml::Parse(html, options.limits);
  if (!parsed.ok()) return parsed.status();
  const ParsedHtml& doc = **parsed;
  Found found = Collect(doc);

  // The base for relative srcs: <base href> (itself resolved against the page) over the page.
  std::string base = std::string(options.page_url);
  if (!found.base_href.empty()) {
    std::string b = ResolveImageUrl(options.page_url, found.base_href);
    if (!b.empty()) base = std::move(b);
  }

  MungeResult r;
  Splicer splicer;
  const std::string mark = fmt::format(" data-tacc=\"{}\"", EscapeHtml(ImageMark(options.prefs)));
  for (const auto& [img, link] : found.images) {
    const GumboElement& e = img->v.element;
    std::string_view tag = SourceStartTag(doc, img);
    if (tag.empty()) continue;
    const GumboAttribute* src = gumbo_get_attribute(&e.attributes, "src");
    if (!src) continue;
    std::string_view value = Trim(src->value);
    if (value.empty() || StartsWithNoCase(value, "data:")) continue;
    if (gumbo_get_attribute(&e.attributes, "data-tacc")) continue;  // munged already
    splicer.Insert(AttributeOffset(doc, e, tag), mark);
    ++r.images;

    if (value.find("\xEF\xBF\xBD") != std::string_view::npos) continue;  // bytes gumbo could not read
    std::string absolute = ResolveImageUrl(base, value);
    if (absolute.empty()) continue;
    size_t at = doc.OffsetOf(tag.data()) + tag.size();
    if (link) {
      const GumboStringPiece& end = link->v.element.original_end_tag;
      if (end.length < 3 || !end.data || !doc.Within(end.data, end.length) || end.data[0] != '<' || end.data[1] != '/' || end.data[end.length - 1] != '>')
        continue;  // the link is left open: nowhere sure to put ours
      at = doc.OffsetOf(end.data) + end.length;
      if (at <= doc.OffsetOf(tag.data())) continue;
    }
    std::string href = "/_tacc/orig?u=" + boost::urls::encode(absolute, boost::urls::unreserved_chars);
    splicer.Insert(at, fmt::format(R"(<a class="tacc-orig" href="{}">[orig]</a>)", EscapeHtml(href)));
    ++r.links;
  }

  if (options.toolbar && found.body && !found.has_toolbar) {
    size_t at = std::string_view::npos;
    std::string_view tag = SourceStartTag(doc, found.body);
    if (!tag.empty()) at = doc.OffsetOf(tag.data()) + tag.size();
    else at = FirstContentOffset(doc, found.body);
    if (at != std::string_view::npos && at <= html.size()) {
      splicer.Insert(at, RenderToolbar(options.prefs));
      r.toolbar = true;
    }
  }
  r.insertions = splicer.Sorted();
  r.html = splicer.Apply(html);
  return r;
}

}  // namespace tacc::workers::html
