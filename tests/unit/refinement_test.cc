// Refinement (paper Figure 1; issue 8): the jpeg worker's crop=x,y,w,h (a region of the
// original's upright pixels, at full resolution unless asked smaller) and orig=1 (the
// original as it came), on pictures of four coloured quadrants.
#include <gtest/gtest.h>

#include "image_test_pictures.h"
#include "workers/image/distill_request.h"

namespace tacc::workers::image {
namespace {

using namespace test;

// The colour of the middle pixel of a JPEG the worker answered, and its size.
struct Seen {
  int width = 0, height = 0;
  Pixel middle{};
};
Seen Look(const sns::TaskOutput& out) {
  EXPECT_EQ(out.mime_type, "image/jpeg");
  Raster r = DecodeWhole(out.data);
  Seen s{r.width, r.height, {}};
  if (r.width > 0) s.middle = At(r, r.width / 2, r.height / 2);
  return s;
}

TEST(RefinementTest, ACropReturnsThatRegionAtFullResolution) {
  // 256x128: red | green over blue | white. Quadrant edges on 16-pixel blocks.
  const std::string original = JpegOf(Quadrants(256, 128, kRed, kGreen, kBlue, kWhite), 95);
  const struct {
    const char* crop;
    Pixel colour;
  } cases[] = {{"0,0,128,64", kRed}, {"128,0,128,64", kGreen}, {"0,64,128,64", kBlue}, {"128,64,128,64", kWhite}, {"150,10,40,30", kGreen}};
  for (const auto& c : cases) {
    auto out = RunJpegWorker(original, {{"crop", c.crop}, {"q", "90"}});
    ASSERT_TRUE(out.ok()) << c.crop << ": " << out.status().ToString();
    auto seen = Look(*out);
    EXPECT_TRUE(Near(seen.middle, c.colour)) << c.crop << ": " << int{seen.middle[0]} << "," << int{seen.middle[1]} << ","
                                             << int{seen.middle[2]};
    EXPECT_EQ(out->meta["crop"], c.crop);
    EXPECT_EQ(out->meta["dct_scale"], "1/1") << "a crop is not shrunk unless asked";
  }
  auto region = RunJpegWorker(original, {{"crop", "150,10,40,30"}});
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->meta["size"], "40x30");
  auto seen = Look(*region);
  EXPECT_EQ(seen.width, 40);
  EXPECT_EQ(seen.height, 30);
}

TEST(RefinementTest, ACropAskedSmallerDecodesAtTheDctScaleThatStillCoversIt) {
  // 512x512 quadrants; the top-right quadrant (256x256) into a 64-pixel box: the whole
  // picture must be decoded at 128x128 or more, so 1/4 (128x128) and not 1/8 (64x64).
  const std::string original = JpegOf(Quadrants(512, 512, kRed, kGreen, kBlue, kWhite), 90);
  auto out = RunJpegWorker(original, {{"crop", "256,0,256,256"}, {"w", "64"}, {"h", "64"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["size"], "64x64");
  EXPECT_EQ(out->meta["dct_scale"], "1/4");
  auto seen = Look(*out);
  EXPECT_EQ(seen.width, 64);
  EXPECT_TRUE(Near(seen.middle, kGreen));
  // An explicit scale and a max_width still apply to the region.
  auto half = RunJpegWorker(original, {{"crop", "0,256,256,256"}, {"scale", "0.5"}});
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->meta["size"], "128x128");
  EXPECT_EQ(half->meta["dct_scale"], "1/2");
  EXPECT_TRUE(Near(Look(*half).middle, kBlue));
  auto capped = RunJpegWorker(original, {{"crop", "256,256,256,128"}}, {{"max_width", "100"}});
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->meta["size"], "100x50");
  EXPECT_TRUE(Near(Look(*capped).middle, kWhite));
}

TEST(RefinementTest, CropCoordinatesAreUprightOnesUnderExifOrientation) {
  // Stored 256x128 (red | green over blue | white) with orientation 6 (turn 90 degrees
  // clockwise to show): upright it is 128x256, blue | red over white | green.
  const std::string original = JpegOf(Quadrants(256, 128, kRed, kGreen, kBlue, kWhite), 95, /*orientation=*/6);
  const struct {
    const char* crop;
    Pixel colour;
  } cases[] = {{"0,0,64,128", kBlue}, {"64,0,64,128", kRed}, {"0,128,64,128", kWhite}, {"64,128,64,128", kGreen}};
  for (const auto& c : cases) {
    auto out = RunJpegWorker(original, {{"crop", c.crop}, {"q", "90"}});
    ASSERT_TRUE(out.ok()) << c.crop << ": " << out.status().ToString();
    auto seen = Look(*out);
    EXPECT_EQ(seen.width, 64) << c.crop;
    EXPECT_EQ(seen.height, 128) << c.crop;
    EXPECT_TRUE(Near(seen.middle, c.colour)) << c.crop << ": " << int{seen.middle[0]} << "," << int{seen.middle[1]} << ","
                                             << int{seen.middle[2]};
  }
  // In upright pixels the picture is 128 wide: x=130 is outside even though the stored
  // picture is 256 wide; y=200 is inside though the stored one is 128 high.
  EXPECT_FALSE(RunJpegWorker(original, {{"crop", "130,0,10,10"}}).ok());
  EXPECT_TRUE(RunJpegWorker(original, {{"crop", "0,200,10,10"}}).ok());
  // Asked smaller under orientation: the region needs the whole picture at 32x64 upright,
  // 64x32 stored: 1/4 gives that, 1/8 (32x16) would not.
  auto small = RunJpegWorker(original, {{"crop", "0,128,128,128"}, {"w", "32"}});
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->meta["size"], "32x32");
  EXPECT_EQ(small->meta["dct_scale"], "1/4");
  auto seen = Look(*small);
  EXPECT_TRUE(Near(At(DecodeWhole(small->data), 8, 16), kWhite));
  EXPECT_TRUE(Near(At(DecodeWhole(small->data), 24, 16), kGreen));
  EXPECT_EQ(seen.width, 32);
}

TEST(RefinementTest, ACropOutsideThePictureOrMalformedIsAnInvalidArgument) {
  const std::string original = JpegOf(Quadrants(256, 128, kRed, kGreen, kBlue, kWhite), 90);
  for (const char* bad : {"200,0,100,10", "0,100,10,29", "256,0,1,1", "0,0,257,128", "0,0,0,10", "0,0,10,0", "-1,0,10,10", "0,0,10",
                          "0,0,10,10,5", "a,b,c,d", "0,0,10,10x", "", "2147483647,0,1,1"}) {
    auto out = RunJpegWorker(original, {{"crop", bad}});
    if (std::string(bad).empty()) {  // an empty crop is no crop
      EXPECT_TRUE(out.ok());
      continue;
    }
    ASSERT_FALSE(out.ok()) << "crop=" << bad;
    EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument) << bad;
    EXPECT_NE(out.status().message().find("crop"), std::string::npos) << out.status().message();
  }
  // The last pixel is inside.
  EXPECT_TRUE(RunJpegWorker(original, {{"crop", "255,127,1,1"}}).ok());
}

TEST(RefinementTest, OrigAnswersTheOriginalUntouched) {
  const std::string original = JpegOf(PhotoRaster(400, 300), 75);
  auto out = RunJpegWorker(original, {{"orig", "1"}, {"accept_webp", "1"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->data, original);
  EXPECT_EQ(out->mime_type, "image/jpeg");
  EXPECT_EQ(out->meta["distilled"], "no");
  EXPECT_EQ(out->meta["reason"], "refinement");
}

TEST(RefinementTest, TheRequestsSizesFollowTheRegion) {
  auto r = ParseDistillRequest({{"crop", "10,20,300,200"}}, {}, DistillDefaults{});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->crop);
  EXPECT_EQ(r->scale, 1);  // not the class's 0.5
  const Size picture{1000, 800};
  Size t = TargetSize(picture, *r);
  EXPECT_EQ(t.width, 300);
  EXPECT_EQ(t.height, 200);
  Size d = DecodeSize(picture, t, *r);
  EXPECT_EQ(d.width, 1000);
  EXPECT_EQ(d.height, 800);
  r->box_width = 75;
  t = TargetSize(picture, *r);
  EXPECT_EQ(t.width, 75);
  EXPECT_EQ(t.height, 50);
  d = DecodeSize(picture, t, *r);
  EXPECT_EQ(d.width, 250);  // a quarter: the region then spans 75x50
  EXPECT_EQ(d.height, 200);
  EXPECT_TRUE(CheckCrop(picture, *r).ok());
  EXPECT_FALSE(CheckCrop(Size{309, 800}, *r).ok());
  // Without a crop the decode size is the target itself.
  auto plain = ParseDistillRequest({}, {}, DistillDefaults{});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->scale, 0.5);
  EXPECT_EQ(DecodeSize(picture, Size{500, 400}, *plain).width, 500);
  EXPECT_TRUE(CheckCrop(picture, *plain).ok());
}

// A click on the refine page's image map (zoom=x,y,display_width) becomes the region
// half the picture's size around the click, kept inside the picture.
TEST(RefinementTest, AZoomClickBecomesTheRegionAroundIt) {
  const std::string original = JpegOf(Quadrants(256, 128, kRed, kGreen, kBlue, kWhite), 95);
  // Shown 480 wide: (400, 40) is in the top-right quadrant, (60, 200) bottom-left.
  auto tr = RunJpegWorker(original, {{"zoom", "400,40,480"}});
  ASSERT_TRUE(tr.ok()) << tr.status().ToString();
  EXPECT_EQ(tr->meta["size"], "128x64");
  EXPECT_EQ(tr->meta["crop"], "128,0,128,64") << "the region is kept inside the picture";
  EXPECT_TRUE(Near(Look(*tr).middle, kGreen));
  auto bl = RunJpegWorker(original, {{"zoom", "60,200,480"}});
  ASSERT_TRUE(bl.ok()) << bl.status().ToString();
  EXPECT_EQ(bl->meta["crop"], "0,64,128,64");
  EXPECT_TRUE(Near(Look(*bl).middle, kBlue));
  EXPECT_GE(std::stoi(bl->meta["quality"]), 75) << "a refinement is sharper than the distilled picture";
  for (const char* bad : {"1,2", "a,b,c", "1,2,0"}) EXPECT_FALSE(RunJpegWorker(original, {{"zoom", bad}}).ok()) << bad;
  EXPECT_FALSE(RunJpegWorker(original, {{"zoom", "1,2,480"}, {"crop", "0,0,8,8"}}).ok());
}

}  // namespace
}  // namespace tacc::workers::image
