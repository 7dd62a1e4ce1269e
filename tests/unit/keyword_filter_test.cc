// The keyword filter (issue 8): golden pages (tests/data/html/kw_*.in.html), the matcher
// on raw text (references, markup inside a text node, case, overlaps), the byte-for-byte
// property over golden and mutated pages and after the munger (the chain
// "html_munger | keyword_filter"), and the worker's keyword sources and pass-throughs.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "html_golden.h"
#include "sns/worker_registry.h"
#include "tacc/dispatch_rules.h"
#include "workers/html/html_munge.h"
#include "workers/html/keyword_highlight.h"
#include "workers/html/keyword_matcher.h"

namespace tacc::workers::html {
namespace {

using testing::GoldenInput;
using testing::ValidateExpected;

struct KwCase {
  const char* name;
  const char* keyword;
  int matches;
};
const KwCase kKwGolden[] = {
    // text in h1 and p (and inside "concatenate"), both sides of an ignored tag; not in the
    // title, style, script, attributes, comment, textarea, option, svg, nor across <b>
    {"kw_text", "cat", 7},
    // &amp; &#38; &#x26; &AMP; &amp (no ';') and a bare '&'; not in "&amp;amp;" or "&lt;AT&gt;"
    {"kw_entity", "AT&T", 6},
    // leftmost, never overlapping: b[ana]na b[ana]n[ana] B[ANA]NA
    {"kw_overlap", "ana", 4},
};

class KeywordGolden : public ::testing::TestWithParam<KwCase> {};

TEST_P(KeywordGolden, MatchesExpectedOutput) {
  const KwCase& c = GetParam();
  const std::string input = GoldenInput(c.name);
  auto r = HighlightKeyword(input, c.keyword, ParseLimits{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ValidateExpected(c.name, input, r->html);
  EXPECT_EQ(r->matches, c.matches);
}

INSTANTIATE_TEST_SUITE_P(Pages, KeywordGolden, ::testing::ValuesIn(kKwGolden), [](const auto& info) { return std::string(info.param.name); });

using Spans = std::vector<std::pair<size_t, size_t>>;

TEST(KeywordMatcher, CaseInsensitiveLeftmostNonOverlapping) {
  EXPECT_EQ(KeywordMatcher("cat").Find("a Cat, a CAT, concatenate"), (Spans{{2, 5}, {9, 12}, {17, 20}}));
  EXPECT_EQ(KeywordMatcher("aa").Find("aaaaa"), (Spans{{0, 2}, {2, 4}}));
  EXPECT_EQ(KeywordMatcher("x").Find(""), Spans{});
  EXPECT_EQ(KeywordMatcher("").Find("anything"), Spans{});
  EXPECT_EQ(KeywordMatcher("caf\xc3\xa9").Find("CAF\xc3\xa9 caf\xc3\x89"), (Spans{{0, 5}}));  // non-ASCII bytes: exact
}

TEST(KeywordMatcher, NeverSplitsAReference) {
  EXPECT_EQ(KeywordMatcher("amp").Find("&amp; amp"), (Spans{{6, 9}}));
  EXPECT_EQ(KeywordMatcher("38").Find("&#38; 38"), (Spans{{6, 8}}));
  EXPECT_EQ(KeywordMatcher("not").Find("&notit; &notit not"), (Spans{{15, 18}}));  // "&notit" = "&not" + "it"
  EXPECT_EQ(KeywordMatcher("it").Find("&notit"), (Spans{{4, 6}}));
  EXPECT_EQ(KeywordMatcher("a&b").Find("a&amp;b a&b a&#38;b A&AMPb"), (Spans{{0, 7}, {8, 11}, {12, 19}, {20, 26}}));
  EXPECT_EQ(KeywordMatcher("<b>").Find("&lt;b&gt; &LT;B&GT;"), (Spans{{0, 9}, {10, 19}}));
  EXPECT_EQ(KeywordMatcher("a b").Find("a&nbsp;b a b"), (Spans{{0, 8}, {9, 12}}));
  EXPECT_EQ(KeywordMatcher("&").Find("&eacute; & &foo;"), (Spans{{9, 10}}));
}

TEST(KeywordMatcher, NoMatchInMarkupInsideATextNode) {
  // gumbo keeps ignored tags inside a text node's source span
  EXPECT_EQ(KeywordMatcher("foo").Find("foo</foo>foo"), (Spans{{0, 3}, {9, 12}}));
  EXPECT_EQ(KeywordMatcher("x").Find("x<body title='x>x'>y>x"), (Spans{{0, 1}, {21, 22}}));
  EXPECT_EQ(KeywordMatcher("b").Find("a < b"), (Spans{{4, 5}}));  // '<' then a space is text
}

TEST(KeywordMatcher, ReferenceLength) {
  EXPECT_EQ(ReferenceLength("&amp;", 0), 5u);
  EXPECT_EQ(ReferenceLength("&amp", 0), 4u);
  EXPECT_EQ(ReferenceLength("&ampx", 0), 4u);
  EXPECT_EQ(ReferenceLength("&#123;", 0), 6u);
  EXPECT_EQ(ReferenceLength("&#x1f", 0), 5u);
  EXPECT_EQ(ReferenceLength("&#;", 0), 0u);
  EXPECT_EQ(ReferenceLength("&T", 0), 0u);
  EXPECT_EQ(ReferenceLength("&foo;", 0), 5u);
  EXPECT_EQ(ReferenceLength("& x", 0), 0u);
  EXPECT_EQ(ReferenceLength("x", 0), 0u);
}

void CheckHighlightProperty(const std::string& input, const HighlightResult& r) {
  std::string back;
  ASSERT_TRUE(RemoveInsertions(r.html, r.insertions, &back));
  ASSERT_EQ(back, input);
  ASSERT_EQ(r.insertions.size(), static_cast<size_t>(2 * r.matches));
  for (const auto& ins : r.insertions) ASSERT_TRUE(ins.text == kMarkOpen || ins.text == kMarkClose);
}

TEST(KeywordProperty, GoldenAndMutatedInputsComeBack) {
  std::mt19937 rng(77);
  for (const KwCase& c : kKwGolden) {
    const std::string base = GoldenInput(c.name);
    for (int i = 0; i < 200; ++i) {
      std::string input = base;
      for (int e = 1 + static_cast<int>(rng() % 6); e > 0; --e) {
        size_t at = rng() % input.size();
        if (rng() % 2) input[at] = "<>&;\"'/ #ax"[rng() % 11];
        else input.insert(at, std::string(c.keyword).substr(0, 1 + rng() % 3));
      }
      auto r = HighlightKeyword(input, c.keyword, ParseLimits{});
      ASSERT_TRUE(r.ok());
      SCOPED_TRACE(::testing::Message() << c.name << " mutation " << i);
      CheckHighlightProperty(input, *r);
      if (HasFatalFailure()) return;
    }
  }
}

// The chain of two: the munger's output through the filter; both sets of insertions out
// give the page back.
TEST(KeywordProperty, AfterTheMunger) {
  for (const char* name : {"plain", "broken", "srcs", "latin1", "comments_script", "kw_text"}) {
    SCOPED_TRACE(name);
    const std::string page = GoldenInput(name);
    MungeOptions o;
    o.page_url = "http://example.com/";
    auto munged = MungeHtml(page, o);
    ASSERT_TRUE(munged.ok());
    auto lit = HighlightKeyword(munged->html, "a", ParseLimits{});
    ASSERT_TRUE(lit.ok());
    std::string once, twice;
    ASSERT_TRUE(RemoveInsertions(lit->html, lit->insertions, &once));
    ASSERT_EQ(once, munged->html);
    ASSERT_TRUE(RemoveInsertions(once, munged->insertions, &twice));
    ASSERT_EQ(twice, page);
  }
}

TEST(KeywordChain, TheDefaultRuleParses) {
  auto rules = tacc_layer::DispatchRules::Parse({"text/html -> html_munger | keyword_filter"}, 1024);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  const auto* rule = rules->Match("text/html; charset=utf-8", 5000, {});
  ASSERT_NE(rule, nullptr);
  ASSERT_EQ(rule->chain.size(), 2u);
  EXPECT_EQ(rule->chain[0].worker_class, "html_munger");
  EXPECT_EQ(rule->chain[1].worker_class, "keyword_filter");
}

// --- the worker

Result<sns::TaskOutput> RunFilter(const std::string& page, std::map<std::string, std::string> args, std::map<std::string, std::string> profile,
                                  std::string mime = "text/html", const std::map<std::string, std::string>& startup = {}) {
  auto* e = sns::FindWorkerImpl("keyword_filter");
  if (!e) return Status::NotFound("no keyword_filter");
  auto fn = e->factory(startup);
  if (!fn.ok()) return fn.status();
  sns::TaskInput in;
  in.data = page;
  in.mime_type = std::move(mime);
  in.args = std::move(args);
  in.profile = std::move(profile);
  return (*fn)->Process(in);
}

TEST(KeywordWorker, HighlightsTheProfileKeyword) {
  auto out = RunFilter("<p>Hello World, hello</p>", {}, {{"keyword", " hello "}}, "text/html; charset=utf-8");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->data, R"(<p><mark class="tacc-kw">Hello</mark> World, <mark class="tacc-kw">hello</mark></p>)");
  EXPECT_EQ(out->mime_type, "text/html; charset=utf-8");
  EXPECT_EQ(out->meta["highlighted"], "yes");
  EXPECT_EQ(out->meta["matches"], "2");
}

TEST(KeywordWorker, TaskArgWinsOverProfile) {
  auto out = RunFilter("<p>one two</p>", {{"keyword", "two"}}, {{"keyword", "one"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->data, R"(<p>one <mark class="tacc-kw">two</mark></p>)");
}

// No keyword: the page goes back without being parsed. A page over max_input_mb proves
// it: a parse would have said so.
TEST(KeywordWorker, NoKeywordIsAPassThroughWithoutParsing) {
  const std::string page = "<p>" + std::string(5000, 'x') + "</p>";
  auto out = RunFilter(page, {}, {{"quality", "20"}}, "text/html", {{"max_input_mb", "0.001"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->data, page);
  EXPECT_EQ(out->meta["highlighted"], "no");
  EXPECT_EQ(out->meta["reason"], "no keyword");
  out = RunFilter(page, {}, {{"keyword", "x"}}, "text/html", {{"max_input_mb", "0.001"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->data, page);
  EXPECT_NE(out->meta["reason"].find("max_input_mb"), std::string::npos);
}

TEST(KeywordWorker, BadKeywordsAndCharsetsPassAsTheyCame) {
  const std::string page = "<p>abc</p>";
  for (auto [kw, mime] : std::vector<std::pair<std::string, std::string>>{{std::string(65, 'a'), "text/html"},
                                                                          {"a\x01", "text/html"},
                                                                          {"a", "text/html; charset=Shift_JIS"},
                                                                          {"a", "text/html;charset=big5"},
                                                                          {"a", "text/html; charset=utf-16"}}) {
    auto out = RunFilter(page, {}, {{"keyword", kw}}, mime);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->data, page) << mime;
    EXPECT_EQ(out->meta["highlighted"], "no") << mime;
  }
}

TEST(KeywordWorker, RejectsUnknownStartupArgs) {
  auto out = RunFilter("<p>", {}, {}, "text/html", {{"toolbar", "1"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace tacc::workers::html
