// The HTML munger (issue 8): golden pages (tests/data/html/*.in.html -> *.out.html, see
// html_golden.h), the byte-for-byte property over them and random mutations of them,
// idempotence, URL resolution, escaping, the toolbar's form against the preferences
// page's parser, and the worker's args, meta, limits and hostile pages.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "html_golden.h"
#include "services/transend/preferences_page.h"
#include "sns/worker_registry.h"
#include "workers/html/html_escape.h"
#include "workers/html/html_munge.h"
#include "workers/html/html_parse.h"

namespace tacc::workers::html {
namespace {

using testing::GoldenInput;
using testing::ValidateExpected;

const char* const kGolden[] = {"plain",     "no_body", "broken",      "img_in_a",        "base_href", "srcs",      "self_closing",
                               "gt_in_attr", "latin1",  "bom",         "bom_no_body",     "comments_script", "svg_cdata", "frameset"};

MungeOptions Options() {
  MungeOptions o;
  o.page_url = "http://example.com/dir/page.html";
  o.prefs.quality = "25";
  o.prefs.max_width = "320";
  o.prefs.gray = "0";
  return o;
}

class MungerGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(MungerGolden, MatchesExpectedOutput) {
  const std::string name = GetParam();
  const std::string input = GoldenInput(name);
  auto r = MungeHtml(input, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ValidateExpected(name, input, r->html);
}

INSTANTIATE_TEST_SUITE_P(Pages, MungerGolden, ::testing::ValuesIn(kGolden), [](const auto& info) { return std::string(info.param); });

// What each golden page must show, beyond its bytes (so a wrong .out.html can't pass).
TEST(MungerGoldenFacts, CountsPerPage) {
  struct Case {
    const char* name;
    int images, links;
    bool toolbar;
  };
  for (const Case& c : std::initializer_list<Case>{{"plain", 2, 2, true},
                                                   {"no_body", 1, 1, true},
                                                   {"img_in_a", 4, 3, true},  // left-open <a>: marked, no link
                                                   {"base_href", 4, 4, true},
                                                   {"srcs", 8, 6, true},  // not: data: x2, empty, no src; no link: javascript:, ftp:
                                                   {"self_closing", 6, 6, true},
                                                   {"gt_in_attr", 2, 2, true},
                                                   {"latin1", 2, 1, true},  // the Latin-1 src: no link
                                                   {"bom", 1, 1, true},
                                                   {"bom_no_body", 1, 1, true},
                                                   {"comments_script", 1, 1, true},  // real.png only
                                                   {"svg_cdata", 2, 2, true},        // breaks-out.png and after.png
                                                   {"frameset", 0, 0, false}}) {
    SCOPED_TRACE(c.name);
    auto r = MungeHtml(GoldenInput(c.name), Options());
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->images, c.images);
    EXPECT_EQ(r->links, c.links);
    EXPECT_EQ(r->toolbar, c.toolbar);
  }
}

TEST(Munger, MarksAndLinksAnImage) {
  const std::string page = "<!doctype html><html><body><p><img src=\"a b.png\" alt=x></p></body></html>";
  auto r = MungeHtml(page, Options());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->html.find(R"(<img src="a b.png" alt=x data-tacc="q=25;w=320;gray=0">)"
                         R"(<a class="tacc-orig" href="/_tacc/orig?u=http%3A%2F%2Fexample.com%2Fdir%2Fa%2520b.png">[orig]</a>)"),
            std::string::npos)
      << r->html;
  EXPECT_NE(r->html.find(R"(<body><div id="tacc-toolbar")"), std::string::npos);
}

TEST(Munger, ImplicitBodyGetsToolbarBeforeFirstContent) {
  auto r = MungeHtml("<title>t</title>\n<p>Hello", Options());
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->toolbar);
  EXPECT_EQ(r->insertions.size(), 1u);
  EXPECT_EQ(r->insertions[0].offset, 17u);  // just before <p>
}

TEST(Munger, EmptyAndTinyInputs) {
  for (std::string page : {std::string(), std::string("x"), std::string("<"), std::string("<img"), std::string("\xEF\xBB\xBF"), std::string(1, '\0')}) {
    auto r = MungeHtml(page, Options());
    ASSERT_TRUE(r.ok());
    std::string back;
    EXPECT_TRUE(RemoveInsertions(r->html, r->insertions, &back));
    EXPECT_EQ(back, page);
  }
}

// Checks what every munged page must satisfy: the input comes back when the insertions
// are taken out, everything inserted is ASCII, and each insertion is where its kind may be.
void CheckMungeProperty(const std::string& input, const MungeResult& r) {
  std::string back;
  ASSERT_TRUE(RemoveInsertions(r.html, r.insertions, &back));
  ASSERT_EQ(back, input);
  for (const auto& ins : r.insertions) {
    ASSERT_LE(ins.offset, input.size());
    for (char c : ins.text) ASSERT_LT(static_cast<unsigned char>(c), 0x80);
    if (ins.text.starts_with(" data-tacc=")) {
      ASSERT_TRUE(input.compare(ins.offset, 1, ">") == 0 || input.compare(ins.offset, 2, "/>") == 0) << "attribute at " << ins.offset;
    } else if (ins.text.starts_with("<a class=\"tacc-orig\"")) {
      ASSERT_GT(ins.offset, 0u);
      ASSERT_EQ(input[ins.offset - 1], '>') << "link at " << ins.offset;
    } else {
      ASSERT_TRUE(ins.text.starts_with("<div id=\"tacc-toolbar\"")) << ins.text;
    }
  }
}

TEST(MungerProperty, GoldenInputsComeBackWithoutInsertions) {
  for (const char* name : kGolden) {
    SCOPED_TRACE(name);
    const std::string input = GoldenInput(name);
    auto r = MungeHtml(input, Options());
    ASSERT_TRUE(r.ok());
    CheckMungeProperty(input, *r);
  }
}

// Random byte mutations of the golden pages: flips, markup characters, cuts, copies.
std::string Mutate(std::string s, std::mt19937& rng) {
  static const char kBytes[] = "<>/\"'=&;!- \n\xe9\xc3\xef\x00";
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits; ++e) {
    if (s.empty()) s = "<";
    size_t at = rng() % s.size();
    switch (rng() % 5) {
      case 0: s[at] = static_cast<char>(rng() & 0xff); break;
      case 1: s.insert(at, 1, kBytes[rng() % (sizeof(kBytes) - 1)]); break;
      case 2: s.erase(at, 1 + rng() % 16); break;
      case 3: s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 32)); break;
      default: s.insert(at, "<img src=m.png>"); break;
    }
  }
  return s;
}

TEST(MungerProperty, MutatedInputsComeBackWithoutInsertions) {
  std::mt19937 rng(20240608);
  int munged = 0;
  for (const char* name : kGolden) {
    const std::string base = GoldenInput(name);
    for (int i = 0; i < 150; ++i) {
      std::string input = Mutate(base, rng);
      auto r = MungeHtml(input, Options());
      ASSERT_TRUE(r.ok());
      SCOPED_TRACE(::testing::Message() << name << " mutation " << i);
      CheckMungeProperty(input, *r);
      if (HasFatalFailure()) return;
      munged += r->images > 0;
    }
  }
  EXPECT_GT(munged, 1000);  // the mutations are not all so broken that nothing is found
}

TEST(MungerProperty, MungingTwiceAddsNothing) {
  for (const char* name : kGolden) {
    SCOPED_TRACE(name);
    auto once = MungeHtml(GoldenInput(name), Options());
    ASSERT_TRUE(once.ok());
    auto twice = MungeHtml(once->html, Options());
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ(twice->html, once->html);
  }
}

TEST(ResolveImageUrl, RelativeAbsoluteAndOthers) {
  const std::string page = "http://example.com/dir/page.html?q=1#top";
  EXPECT_EQ(ResolveImageUrl(page, "a.png"), "http://example.com/dir/a.png");
  EXPECT_EQ(ResolveImageUrl(page, "../b.png"), "http://example.com/b.png");
  EXPECT_EQ(ResolveImageUrl(page, "/c.png?x=1&y=2"), "http://example.com/c.png?x=1&y=2");
  EXPECT_EQ(ResolveImageUrl(page, "//cdn.example.org/d.png"), "http://cdn.example.org/d.png");
  EXPECT_EQ(ResolveImageUrl(page, "https://x.example/e.png#frag"), "https://x.example/e.png");
  EXPECT_EQ(ResolveImageUrl(page, " my pic.png\n"), "http://example.com/dir/my%20pic.png");
  EXPECT_EQ(ResolveImageUrl(page, "caf\xc3\xa9.png"), "http://example.com/dir/caf%C3%A9.png");
  EXPECT_EQ(ResolveImageUrl(page, "100%.png"), "http://example.com/dir/100%25.png");
  EXPECT_EQ(ResolveImageUrl(page, "javascript:alert(1)"), "");
  EXPECT_EQ(ResolveImageUrl(page, "ftp://example.org/x.png"), "");
  EXPECT_EQ(ResolveImageUrl("", "relative.png"), "");
  EXPECT_EQ(ResolveImageUrl("", "http://abs.example/x.png"), "http://abs.example/x.png");
  EXPECT_EQ(ResolveImageUrl("not a url", "x.png"), "");
}

TEST(EscapeHtml, AsciiOnlyAndNothingThatClosesAnAttribute) {
  EXPECT_EQ(EscapeHtml(R"(<a href="x">'&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml("caf\xc3\xa9 \xe2\x82\xac"), "caf&#xE9; &#x20AC;");
  EXPECT_EQ(EscapeHtml("bad \xff\xc3 end"), "bad &#xFFFD;&#xFFFD; end");
  EXPECT_EQ(EscapeHtml(std::string("tab\tnul\0!", 9)), "tabnul!");
}

TEST(Toolbar, FormPostsWhatThePreferencesPageAccepts) {
  PagePreferences p;
  p.quality = "50";
  p.max_width = "480";
  p.format = "webp";
  p.keyword = "caf\xc3\xa9 & co";
  p.distill = "on";
  p.gray = "1";
  const std::string bar = RenderToolbar(p);
  for (const char* id : {"tacc-toolbar", "tacc-prefs-link", "tacc-toolbar-form", "tacc-quality", "tacc-gray", "tacc-apply"})
    EXPECT_NE(bar.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  for (char c : bar) ASSERT_LT(static_cast<unsigned char>(c), 0x80);

  // Submit the form as a browser would: each named control's value, url-encoded.
  auto parsed = ParsedHtml::Parse(bar, ParseLimits{});
  ASSERT_TRUE(parsed.ok());
  std::string body;
  auto add = [&](const std::string& name, const std::string& value) {
    body += (body.empty() ? "" : "&") + name + "=";
    for (unsigned char c : value) body += std::isalnum(c) ? std::string(1, static_cast<char>(c)) : fmt::format("%{:02X}", c);
  };
  std::vector<const GumboNode*> stack{(*parsed)->output().document};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT) continue;
    const GumboVector& kids = n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
    for (unsigned i = kids.length; i-- > 0;) stack.push_back(static_cast<const GumboNode*>(kids.data[i]));
    if (n->type != GUMBO_NODE_ELEMENT) continue;
    const GumboElement& e = n->v.element;
    const GumboAttribute* name = gumbo_get_attribute(&e.attributes, "name");
    const GumboAttribute* value = gumbo_get_attribute(&e.attributes, "value");
    if (e.tag == GUMBO_TAG_INPUT && name) {
      const GumboAttribute* type = gumbo_get_attribute(&e.attributes, "type");
      if (type && std::string(type->value) == "checkbox" && !gumbo_get_attribute(&e.attributes, "checked")) continue;
      add(name->value, value ? value->value : "");
    }
    if (e.tag == GUMBO_TAG_OPTION && gumbo_get_attribute(&e.attributes, "selected")) add("quality", value->value);
  }
  bool remember = true;
  auto form = services::ParsePreferencesForm(body, &remember);
  ASSERT_TRUE(form.ok()) << form.status().ToString() << " for " << body;
  EXPECT_FALSE(remember);
  EXPECT_EQ(form->GetOr("quality", ""), "50");
  EXPECT_EQ(form->GetOr("max_width", ""), "480");
  EXPECT_EQ(form->GetOr("format", ""), "webp");
  EXPECT_EQ(form->GetOr("gray", ""), "1");
  EXPECT_EQ(form->GetOr("keyword", ""), "caf\xc3\xa9 & co");
  EXPECT_EQ(form->GetOr("distill", ""), "on");
}

TEST(Toolbar, UnlistedQualityStaysSelected) {
  PagePreferences p;
  p.quality = "33";
  const std::string bar = RenderToolbar(p);
  EXPECT_NE(bar.find(R"(<option value="33" selected>)"), std::string::npos);
  EXPECT_EQ(bar.find("checked"), std::string::npos);
}

// --- the worker

Result<sns::TaskOutput> RunMunger(const std::map<std::string, std::string>& startup, const std::string& page, std::string mime = "text/html",
                                  std::map<std::string, std::string> args = {{"url", "http://example.com/"}},
                                  std::map<std::string, std::string> profile = {{"quality", "30"}}) {
  auto* e = sns::FindWorkerImpl("html_munger");
  if (!e) return Status::NotFound("no html_munger");
  auto fn = e->factory(startup);
  if (!fn.ok()) return fn.status();
  sns::TaskInput in;
  in.data = page;
  in.mime_type = std::move(mime);
  in.args = std::move(args);
  in.profile = std::move(profile);
  return (*fn)->Process(in);
}

TEST(MungerWorker, MungesAndSaysWhatItDid) {
  auto out = RunMunger({}, "<html><body><img src=a.png><img src=b.png><img src='data:x'></body></html>", "text/html; charset=ISO-8859-1");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->mime_type, "text/html; charset=ISO-8859-1");
  EXPECT_EQ(out->meta["munged"], "yes");
  EXPECT_EQ(out->meta["images"], "2");
  EXPECT_EQ(out->meta["links"], "2");
  EXPECT_EQ(out->meta["toolbar"], "yes");
  EXPECT_NE(out->data.find(R"(data-tacc="q=30")"), std::string::npos);
  EXPECT_NE(out->data.find("/_tacc/orig?u=http%3A%2F%2Fexample.com%2Fa.png"), std::string::npos);
}

TEST(MungerWorker, ToolbarOff) {
  auto out = RunMunger({{"toolbar", "0"}}, "<body><p>x</p></body>");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["toolbar"], "no");
  EXPECT_EQ(out->data, "<body><p>x</p></body>");
}

TEST(MungerWorker, RejectsBadStartupArgs) {
  for (auto args : std::vector<std::map<std::string, std::string>>{{{"toolbar", "2"}}, {{"max_input_mb", "x"}}, {{"max_parse_ms", "0"}}, {{"colour", "red"}}}) {
    auto out = RunMunger(args, "<p>");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(out.status().message().find("html_munger"), std::string::npos);
  }
}

TEST(MungerWorker, PagesOverTheLimitPassAsTheyCame) {
  std::string page = "<body>" + std::string(3000, 'x') + "<img src=a.png></body>";
  auto out = RunMunger({{"max_input_mb", "0.002"}}, page);  // 2097 bytes
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["munged"], "no");
  EXPECT_NE(out->meta["reason"].find("max_input_mb"), std::string::npos);
  EXPECT_EQ(out->data, page);
}

// big_pages_to: a page over max_input_mb is handed on (the stub makes the call), once.
TEST(MungerWorker, BigPagesAreHandedOnWhenAClassIsNamed) {
  std::string page = "<body>" + std::string(3000, 'x') + "<img src=a.png></body>";
  auto out = RunMunger({{"max_input_mb", "0.002"}, {"big_pages_to", "html_big"}}, page);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->handoff);
  EXPECT_EQ(out->handoff->worker_class, "html_big");
  auto small = RunMunger({{"max_input_mb", "0.002"}, {"big_pages_to", "html_big"}}, "<body><img src=a.png></body>");
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(small->handoff);
  EXPECT_EQ(small->meta["munged"], "yes");
}

TEST(MungerWorker, Utf16PagesPassAsTheyCame) {
  std::string page("\xFF\xFE<\0b\0>\0", 8);
  auto out = RunMunger({}, page, "text/html");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["munged"], "no");
  EXPECT_EQ(out->data, page);
  out = RunMunger({}, "<body><img src=a.png>", "text/html; charset=\"UTF-16LE\"");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["munged"], "no");
}

// Gumbo's scope checks are quadratic in the nesting depth: 60 000 nested <div>s would
// take it many seconds. The parse budget stops it; the page passes as it came.
TEST(MungerWorker, DeeplyNestedPageStopsAtTheParseDeadline) {
  std::string page;
  for (int i = 0; i < 60000; ++i) page += "<div>";
  page += "<img src=a.png>";
  const auto start = std::chrono::steady_clock::now();
  auto out = RunMunger({{"max_parse_ms", "300"}}, page);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["munged"], "no");
  EXPECT_NE(out->meta["reason"].find("max_parse_ms"), std::string::npos) << out->meta["reason"];
  EXPECT_EQ(out->data, page);
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(MungerWorker, ParseMemoryBudget) {
  std::string page;
  for (int i = 0; i < 40000; ++i) page += "<p class=x>y</p>";
  auto out = RunMunger({{"max_parse_mb", "1"}}, page);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->meta["munged"], "no");
  EXPECT_NE(out->meta["reason"].find("max_parse_mb"), std::string::npos) << out->meta["reason"];
  EXPECT_EQ(out->data, page);
}

// A tree deeper than any stack: gumbo's own (recursive) destroy would crash freeing it;
// the arena frees it flat, and the munger walks it without recursion.
TEST(MungerWorker, VeryDeepTreeIsFreedWithoutRecursion) {
  std::string page = "<body>";
  for (int i = 0; i < 400000; ++i) page += "<span>";
  page += "<img src=deep.png>";
  auto out = RunMunger({{"max_parse_ms", "20000"}}, page);
  ASSERT_TRUE(out.ok());
  if (out->meta["munged"] == "yes") {
    EXPECT_EQ(out->meta["images"], "1");
  } else {
    EXPECT_NE(out->meta["reason"].find("max_parse"), std::string::npos);  // a slow machine (sanitizers)
  }
}

}  // namespace
}  // namespace tacc::workers::html
