// TranSend's HTML workers through real processes (issue 8): with `tacc up`'s default
// rules a page from an origin goes through "html_munger | keyword_filter": its images
// marked and linked to their originals (resolved against the page's URL, which the
// service hands the chain as task arg url), the toolbar in, and the keyword the user
// saved at /_tacc/prefs highlighted; the rest of the page byte for byte as it came.
#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {

TEST(HtmlMungerTest, PagesAreMungedAndFilteredThroughTheDefaultChain) {
  std::string page = "<!doctype html><html><head><title>Zebra page</title></head><body>\n<p>A zebra: <img src=\"pics/zebra.jpg\" alt=\"zebra\"></p>\n";
  for (int i = 0; i < 30; ++i) page += "<p>Filler text so that the page is over the minimum size of a transform.</p>\n";
  page += "</body></html>\n";
  TestOrigin origin([&](const TestOrigin::Request&) { return OkAnswer(page, "text/html; charset=utf-8", ""); });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "classes.html_munger.min_workers=1",
                                 "classes.keyword_filter.min_workers=1", "manager.spawn_policy=fixed"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"html_munger", "keyword_filter"})) << c.Log();
  const std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  auto plain = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/dir/page.html");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.Header("X-Tacc-Chain"), "html_munger|keyword_filter");
  EXPECT_EQ(plain.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(plain.body.find(R"(<img src="pics/zebra.jpg" alt="zebra" data-tacc="auto">)"), std::string::npos) << plain.body;
  const std::string orig = "/_tacc/orig?u=http%3A%2F%2F127.0.0.1%3A" + std::to_string(origin.port()) + "%2Fdir%2Fpics%2Fzebra.jpg";
  EXPECT_NE(plain.body.find(orig), std::string::npos) << "no refinement link to the resolved image URL: " << plain.body.substr(0, 2000);
  EXPECT_NE(plain.body.find("id=\"tacc-toolbar\""), std::string::npos);
  EXPECT_EQ(plain.body.find("tacc-kw"), std::string::npos);  // no keyword yet

  ASSERT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "keyword=zebra&quality=40").status, 200);
  auto lit = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/dir/page.html");
  ASSERT_EQ(lit.status, 200);
  EXPECT_NE(lit.body.find(R"(<p>A <mark class="tacc-kw">zebra</mark>: <img src="pics/zebra.jpg" alt="zebra" data-tacc="q=40">)"), std::string::npos)
      << lit.body.substr(0, 2000);
  EXPECT_NE(lit.body.find("<title>Zebra page</title>"), std::string::npos);  // not in the title
  EXPECT_NE(lit.body.find(R"(<input type="hidden" name="keyword" value="zebra">)"), std::string::npos);  // the toolbar keeps it
}

}  // namespace
}  // namespace tacc::testing

namespace tacc::testing {
namespace {

// The paper's munger handing big pages on: over its max_input_mb the html_munger class
// hands the page to html_big (the same worker with a larger budget) through its stub, and
// the page comes back munged by a worker of that class.
TEST(HtmlMungerTest, BigPagesAreHandedOnToAClassWithALargerBudget) {
  const std::string page = "<!doctype html><html><body><p>" + std::string(4000, 'x') + "</p><img src=\"a.png\"></body></html>";
  TestOrigin origin([&](const TestOrigin::Request&) { return OkAnswer(page, "text/html; charset=utf-8", ""); });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
                                 "cache.enabled=false", "dispatch.rules=[\"text/html -> html_munger\"]", "classes.html_munger.min_workers=1",
                                 "classes.html_munger.args.max_input_mb=0.002", "classes.html_munger.args.big_pages_to=html_big",
                                 "classes.html_munger.handoff_to=[\"html_big\"]", "classes.html_big.worker=html_munger",
                                 "classes.html_big.min_workers=1", "classes.html_big.args.max_input_mb=1"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"html_munger", "html_big"})) << c.Log();
  auto r = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", "http://127.0.0.1:" + std::to_string(origin.port()) + "/big.html");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("x-tacc-approximate"), "") << r.Header("x-tacc-approximate-reason");
  EXPECT_NE(r.body.find("id=\"tacc-toolbar\""), std::string::npos) << "the big page was not munged";
  EXPECT_NE(r.body.find("class=\"tacc-orig\""), std::string::npos);
}

}  // namespace
}  // namespace tacc::testing
