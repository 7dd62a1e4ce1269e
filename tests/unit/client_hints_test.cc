#include "services/transend/client_hints.h"

#include <gtest/gtest.h>

#include "services/transend/preferences_page.h"

namespace tacc::services {
namespace {

TEST(ClientHintsTest, ReadsWhatTheClientSays) {
  boost::beast::http::fields f;
  f.set("Accept", "image/avif,image/webp,*/*");
  f.set("Save-Data", "on");
  f.set("ECT", "3g");
  f.set("Downlink", "1.5");
  f.set("Sec-CH-DPR", "2");
  f.set("Sec-CH-Viewport-Width", "400");
  auto a = ClientHintArgs(f);
  EXPECT_EQ(a["accept_avif"], "1");
  EXPECT_EQ(a["accept_webp"], "1");
  EXPECT_EQ(a["save_data"], "1");
  EXPECT_EQ(a["network"], "3g");
  EXPECT_EQ(a["downlink_mbps"], "1.5");
  EXPECT_EQ(a["max_width"], "800");
}

TEST(ClientHintsTest, NonsenseIsIgnored) {
  boost::beast::http::fields f;
  f.set("Save-Data", "maybe");
  f.set("ECT", "6g");
  f.set("DPR", "1e300");
  f.set("Viewport-Width", "-3");
  f.set("Downlink", "fast");
  EXPECT_TRUE(ClientHintArgs(f).empty());
}

TEST(PreferencesFormTest, ParsesAndChecksEveryField) {
  bool remember = false;
  auto p = ParsePreferencesForm("quality=40&max_width=320&format=webp&gray=1&distill=on&keyword=a+b%21&remember=1&format2=", &remember);
  EXPECT_FALSE(p.ok()) << "an unknown field was accepted";
  p = ParsePreferencesForm("quality=40&max_width=320&format=webp&gray=1&distill=on&keyword=a+b%21&remember=1", &remember);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(remember);
  EXPECT_EQ(p->GetOr("keyword", ""), "a b!");
  EXPECT_EQ(p->GetOr("format", ""), "webp");
  for (std::string bad : {"quality=0", "quality=x", "max_width=99999", "format=bmp", "gray=2", "distill=maybe", "keyword=%0a", "quality=%zz"})
    EXPECT_FALSE(ParsePreferencesForm(bad, &remember).ok()) << bad;
  // Empty fields are left to the hints.
  auto empty = ParsePreferencesForm("quality=&format=", &remember);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(PreferencesFormTest, ThePageEscapesWhatItShows) {
  tacc_layer::Profile p;
  p.Set("keyword", "<script>\"x\"");
  std::string html = RenderPreferencesPage(p, "you & me", "");
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;&quot;x&quot;"), std::string::npos);
  EXPECT_NE(html.find("you &amp; me"), std::string::npos);
}

}  // namespace
}  // namespace tacc::services
