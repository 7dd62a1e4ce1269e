// Refinement through real processes (issue 8; paper Figure 1): the [orig] link's path
// gives the original bytes of an image the proxy distills, asked for the way a browser
// behind the forward proxy asks (absolute-form, on the page's host); the refine page
// offers the image as an image map; a click on it gives the region around it.
#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "services/transend/refinement.h"
#include "test_origin.h"
#include "workers/image/jpeg_codec.h"

namespace tacc::testing {
namespace {

using workers::image::DecodeJpeg;
using workers::image::EncodeJpeg;
using workers::image::ImageLimits;
using workers::image::JpegEncodeOptions;
using workers::image::Raster;
using workers::image::Size;

// 640x480; its left half red, its right half blue.
std::string HalvesJpeg() {
  Raster r;
  r.width = 640;
  r.height = 480;
  r.pixels.resize(640 * 480 * 3);
  for (int y = 0; y < 480; ++y)
    for (int x = 0; x < 640; ++x) {
      uint8_t* p = r.row(y) + static_cast<size_t>(x) * 3;
      p[0] = x < 320 ? 220 : 20;
      p[1] = static_cast<uint8_t>(20 + (x * y) % 7);
      p[2] = x < 320 ? 20 : 220;
    }
  JpegEncodeOptions o;
  o.quality = 90;
  return *EncodeJpeg(r, o);
}

TEST(RefinementTest, TheOriginalOfADistilledImageAndTheRefinePage) {
  const std::string photo = HalvesJpeg();
  TestOrigin origin([&](const TestOrigin::Request&) { return OkAnswer(photo, "image/jpeg", "Cache-Control: max-age=60\r\n"); });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "classes.jpeg.min_workers=1",
                                 "manager.spawn_policy=fixed"}});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"jpeg"})) << c.Log();
  const std::string host = "http://127.0.0.1:" + std::to_string(origin.port());
  const std::string image = host + "/p.jpg";

  auto distilled = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", image);
  ASSERT_EQ(distilled.status, 200) << distilled.body;
  EXPECT_EQ(distilled.Header("X-Tacc-Chain"), "jpeg");
  EXPECT_LT(distilled.body.size(), photo.size());

  // The [orig] link, as a browser behind the proxy sends it: on the page's host.
  auto original = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", host + services::OriginalLink(image));
  ASSERT_EQ(original.status, 200) << original.body;
  EXPECT_EQ(original.body, photo) << "not the original bytes";
  EXPECT_EQ(original.Header("X-Tacc-Chain"), "");
  // And in origin-form, to the front end itself.
  auto direct = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", services::OriginalLink(image));
  EXPECT_EQ(direct.body, photo);

  auto page = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", host + "/_tacc/refine?u=" + services::OriginalLink(image).substr(14));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("ismap"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find(services::OriginalLink(image)), std::string::npos) << page.body;

  // A click at (400, 40) on the picture shown 480 wide: the top-right quarter (blue), at
  // full resolution.
  auto zoom = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", host + services::OriginalLink(image) + "&zoom=480?400,40");
  ASSERT_EQ(zoom.status, 200) << zoom.body;
  EXPECT_EQ(zoom.Header("X-Tacc-Chain"), "jpeg");
  auto region = DecodeJpeg(zoom.body, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(region.ok()) << region.status().ToString();
  EXPECT_EQ(region->source.width, 320);
  EXPECT_EQ(region->source.height, 240);
  const uint8_t* mid = region->raster.row(120) + 160 * 3;
  EXPECT_GT(mid[2], 150);
  EXPECT_LT(mid[0], 100);

  auto bad = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", host + "/_tacc/orig?u=ftp%3A%2F%2Fx%2Fy");
  EXPECT_EQ(bad.status, 400);
}

}  // namespace
}  // namespace tacc::testing
