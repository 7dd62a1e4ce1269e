// Refinement's own paths (issue 8): which requests the front end answers itself, how the
// [orig] link and an image-map click are read, and the refine page.
#include <gtest/gtest.h>

#include "services/transend/refinement.h"

namespace tacc::services {
namespace {

TEST(RefinementPathTest, OwnPathsInOriginAndAbsoluteForm) {
  EXPECT_EQ(OwnPath("/_tacc/orig?u=x").value_or(""), "/_tacc/orig?u=x");
  EXPECT_EQ(OwnPath("http://example.com/_tacc/prefs").value_or(""), "/_tacc/prefs");
  EXPECT_EQ(OwnPath("http://example.com:8080/_tacc/orig?u=a%20b").value_or(""), "/_tacc/orig?u=a%20b");
  EXPECT_FALSE(OwnPath("/index.html"));
  EXPECT_FALSE(OwnPath("http://example.com/x/_tacc/orig"));
  EXPECT_FALSE(OwnPath("http://example.com/"));
  EXPECT_FALSE(OwnPath("not a url"));
}

TEST(RefinementPathTest, TheOriginalLinkRoundTrips) {
  std::string url = "http://example.com/a%20b/p.jpg?x=1&y=2";
  std::string link = OriginalLink(url);
  EXPECT_EQ(link.find_first_of(" &#"), std::string::npos) << link;
  auto r = ParseRefineRequest(link);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->url, url);
  EXPECT_FALSE(r->page);
  EXPECT_FALSE(r->zoom);
}

TEST(RefinementPathTest, AnImageMapClickIsAZoom) {
  auto r = ParseRefineRequest(OriginalLink("http://h/p.jpg") + "&zoom=480?120,45");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->zoom);
  EXPECT_EQ(r->zoom->x, 120);
  EXPECT_EQ(r->zoom->y, 45);
  EXPECT_EQ(r->zoom->display_width, 480);
  EXPECT_EQ(ZoomArgs(*r->zoom).at("zoom"), "120,45,480");
}

TEST(RefinementPathTest, BadRequestsSayWhatIsWrong) {
  for (std::string bad : {"/_tacc/orig", "/_tacc/orig?u=", "/_tacc/orig?u=ftp%3A%2F%2Fh%2Fx", "/_tacc/orig?u=%2Frelative",
                          "/_tacc/orig?u=http%3A%2F%2Fh%2Fp&zoom=480", "/_tacc/orig?u=http%3A%2F%2Fh%2Fp&zoom=480?1",
                          "/_tacc/orig?u=http%3A%2F%2Fh%2Fp&zoom=0?1,2", "/_tacc/orig?u=http%3A%2F%2Fh%2Fp?1,2", "/_tacc/nope?u=http%3A%2F%2Fh%2F",
                          "/_tacc/refine?u=http%3A%2F%2Fh%2Fp&zoom=480?1,2", "/_tacc/orig?u=http%3A%2F%2Fh%2Fp&zoom=480?-1,2"}) {
    auto r = ParseRefineRequest(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(RefinementPathTest, ThePageEscapesTheUrlAndOffersBothWays) {
  std::string url = "http://h/p.jpg?a='x'&b=1";
  auto r = ParseRefineRequest("/_tacc/refine?u=" + OriginalLink(url).substr(std::string(kOriginalPath).size() + 3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->page);
  std::string page = RenderRefinePage(r->url);
  EXPECT_EQ(page.find("'x'"), std::string::npos);
  EXPECT_NE(page.find("src=\"http://h/p.jpg?a=&#39;x&#39;&amp;b=1\""), std::string::npos) << page;
  EXPECT_NE(page.find("ismap"), std::string::npos);
  EXPECT_NE(page.find("id=\"tacc-original\" href=\"/_tacc/orig?u=http%3A%2F%2Fh%2Fp.jpg"), std::string::npos) << page;
  EXPECT_NE(page.find("&amp;zoom=480"), std::string::npos);
}

}  // namespace
}  // namespace tacc::services
