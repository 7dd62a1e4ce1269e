// Small devices (the paper's PDA case, issue 8): the grays / bpp request keys, Floyd-
// Steinberg dithering to N gray levels (only those levels, the mean brightness kept),
// and every image worker answering with a low-bit gray PNG when asked (the jpeg worker
// only when that is the smaller answer).
#include <gtest/gtest.h>

#include <set>

#include "image_test_util.h"
#include "workers/image/distill_request.h"
#include "workers/image/gif_codec.h"
#include "workers/image/gray_levels.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {
namespace {

using namespace testing;

Raster GrayRamp(int w, int h) {
  Raster r = Blank(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) *Pixel(r, x, y) = static_cast<uint8_t>(255 * x / (w - 1));
  return r;
}

TEST(GrayLevelsTest, DitheringUsesOnlyTheLevelsAndKeepsTheMeanBrightness) {
  const Raster ramp = GrayRamp(256, 64);
  for (int levels : {2, 3, 4, 16}) {
    Raster d = DitherGray(ramp, levels);
    std::set<int> seen(d.pixels.begin(), d.pixels.end());
    EXPECT_LE(static_cast<int>(seen.size()), levels) << levels << " levels";
    EXPECT_TRUE(seen.count(0) && seen.count(255)) << levels;
    EXPECT_NEAR(Mean(d), Mean(ramp), 2.0) << levels << " levels";
    // Locally too: a mid-gray column block averages to its gray, not to black or white.
    double sum = 0;
    for (int y = 0; y < 64; ++y)
      for (int x = 96; x < 160; ++x) sum += *Pixel(d, x, y);
    EXPECT_NEAR(sum / (64 * 64), 127.5, 6) << levels << " levels";
  }
  EXPECT_EQ(GrayBitDepth(2), 1);
  EXPECT_EQ(GrayBitDepth(4), 2);
  EXPECT_EQ(GrayBitDepth(16), 4);
  EXPECT_EQ(GrayBitDepth(17), 8);
  // 256 levels: nothing to do.
  EXPECT_EQ(DitherGray(ramp, 256).pixels, ramp.pixels);
}

TEST(GrayLevelsTest, RequestKeysAreParsedAndChecked) {
  auto r = ParseDistillRequest({{"bpp", "2"}}, {}, DistillDefaults{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gray_levels(), 4);
  EXPECT_TRUE(r->gray);
  r = ParseDistillRequest({}, {{"grays", "16"}}, DistillDefaults{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gray_levels(), 16);
  r = ParseDistillRequest({{"grays", "8"}}, {{"grays", "16"}, {"bpp", "1"}}, DistillDefaults{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gray_levels(), 2) << "the fewer of grays and bpp";
  r = ParseDistillRequest({{"background", "#102030"}}, {{"background", "black"}}, DistillDefaults{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->background.r, 0x10);
  EXPECT_EQ(r->background.b, 0x30);
  EXPECT_EQ(ParseDistillRequest({}, {}, DistillDefaults{})->gray_levels(), 0);
  for (auto bad : std::vector<std::map<std::string, std::string>>{{{"bpp", "3"}}, {{"bpp", "1.5"}}, {{"grays", "1"}}, {{"grays", "257"}}, {{"background", "#12345"}}})
    EXPECT_EQ(ParseDistillRequest(bad, {}, DistillDefaults{}).status().kind(), ErrorKind::kInvalidArgument) << bad.begin()->first << "=" << bad.begin()->second;
}

// Checks a small-device answer: a gray PNG of `depth` bits per pixel, the mean brightness
// near the source's (gray, same scale).
void ExpectGrayPng(const sns::TaskOutput& out, int depth, const Raster& source_gray) {
  EXPECT_EQ(out.meta.at("distilled"), "yes");
  EXPECT_EQ(out.mime_type, "image/png");
  const auto h = ReadPngHeader(out.data);
  EXPECT_EQ(h.colour_type, 0);
  EXPECT_EQ(h.bit_depth, depth);
  auto d = DecodePng(out.data, ImageLimits{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->raster.channels, 1);
  EXPECT_NEAR(Mean(d->raster), Mean(source_gray), 4.0);
  std::set<int> seen(d->raster.pixels.begin(), d->raster.pixels.end());
  EXPECT_LE(static_cast<int>(seen.size()), 1 << depth);
}

TEST(SmallDeviceTest, TheJpegWorkerAnswersOneBitWhenAskedAndSmaller) {
  const Raster photo = Photo(400, 300);
  JpegEncodeOptions o;
  o.quality = 90;
  const std::string jpeg = *EncodeJpeg(photo, o);
  // At quality 80 the gray JPEG is larger than the dithered 1-bit PNG.
  auto out = Distill("jpeg", jpeg, "image/jpeg", {{"bpp", "1"}, {"q", "80"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectGrayPng(*out, 1, ToGray(photo));
  EXPECT_EQ(ReadPngHeader(out->data).width, 200);
  // Many grays of a smooth photo: the gray JPEG is smaller, so it stays a JPEG.
  auto many = Distill("jpeg", jpeg, "image/jpeg", {}, {{"grays", "256"}});
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->mime_type, "image/jpeg");
  auto d = DecodeJpeg(many->data, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->raster.channels, 1) << "grays implies gray";
}

TEST(SmallDeviceTest, AnOriginalThatStaysIsLabelledAsItself) {
  // A JPEG so coarse that neither the gray JPEG at quality 100 nor the 1-bit PNG beats it.
  JpegEncodeOptions o;
  o.quality = 3;
  const std::string jpeg = *EncodeJpeg(Photo(400, 300), o);
  auto out = Distill("jpeg", jpeg, "image/jpeg", {{"bpp", "1"}, {"q", "100"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->meta["distilled"], "no") << jpeg.size() << " bytes became " << out->data.size();
  EXPECT_EQ(out->data, jpeg);
  EXPECT_EQ(out->mime_type, "image/jpeg");
}

TEST(SmallDeviceTest, ThePngAndGifWorkersAnswerTheAskedDepth) {
  const Raster photo = Photo(400, 300);
  auto png = Distill("png", *EncodePng(photo, PngEncodeOptions{}), "image/png", {{"grays", "16"}});
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ExpectGrayPng(*png, 4, ToGray(photo));
  auto two = Distill("png", *EncodePng(photo, PngEncodeOptions{}), "image/png", {}, {{"bpp", "2"}});
  ASSERT_TRUE(two.ok());
  ExpectGrayPng(*two, 2, ToGray(photo));

  // A GIF: its first frame, flattened onto the background.
  auto q = Quantize(photo, 256);
  ASSERT_TRUE(q.ok());
  std::vector<GifOutputFrame> frames{{*q, 10}, {*q, 10}};
  auto gif = EncodeGif(frames, 0);
  ASSERT_TRUE(gif.ok());
  auto out = Distill("gif", *gif, "image/gif", {{"bpp", "1"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectGrayPng(*out, 1, ToGray(photo));
}

TEST(SmallDeviceTest, TransparencyIsFlattenedOntoTheBackground) {
  const std::string disc = *EncodePng(Disc(200), PngEncodeOptions{});
  auto out = Distill("png", disc, "image/png", {{"bpp", "1"}, {"background", "black"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto d = DecodePng(out->data, ImageLimits{});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*Pixel(d->raster, 0, 0), 0) << "black background";
  EXPECT_EQ(*Pixel(d->raster, 50, 50), 255) << "white disc";
}

}  // namespace
}  // namespace tacc::workers::image
