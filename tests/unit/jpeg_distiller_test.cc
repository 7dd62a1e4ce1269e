// The JPEG distiller (issue 8) on pictures the tests make with libjpeg-turbo: sizes and
// DCT scales, EXIF orientation, CMYK, progressive files, ICC profiles, gray output, the
// never-larger rule, and hostile files (truncated, garbage, bomb-shaped, too many scans).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <jpeglib.h>

#include <cmath>
#include <string>

#include "image_test_util.h"
#include "sns/worker_registry.h"
#include "workers/image/exif_orientation.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {
namespace {

using testing::Photo;  // smooth gradients with some texture (image_test_util.h)

std::string Encode(const Raster& r, int quality = 90, bool progressive = false, std::string icc = "") {
  JpegEncodeOptions o;
  o.quality = quality;
  o.progressive = progressive;
  o.icc = std::move(icc);
  auto e = EncodeJpeg(r, o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : std::string();
}

// A JPEG written straight with libjpeg: CMYK (inks stored inverted, as Adobe's files
// are) and/or with an APP1 segment.
std::string EncodeRaw(int w, int h, J_COLOR_SPACE space, int components, const std::vector<uint8_t>& pixels, const std::string& app1) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = components;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  if (!app1.empty()) jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(app1.data()), static_cast<unsigned>(app1.size()));
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels.data() + static_cast<size_t>(c.next_scanline) * w * components);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

// An EXIF APP1 segment (big-endian TIFF) holding only the orientation tag.
std::string ExifWithOrientation(int orientation) {
  std::string s("Exif\0\0", 6);
  s += std::string("MM\0\x2a\0\0\0\x08", 8);           // TIFF header, IFD0 at 8
  s += std::string("\0\x01", 2);                       // one entry
  s += std::string("\x01\x12\0\x03\0\0\0\x01", 8);     // tag 0x0112, SHORT, count 1
  s += std::string(1, '\0') + static_cast<char>(orientation) + std::string(2, '\0');
  s += std::string(4, '\0');                           // no next IFD
  return s;
}

sns::WorkerFunctionPtr Worker(std::map<std::string, std::string> args = {}) {
  auto* e = sns::FindWorkerImpl("jpeg");
  EXPECT_NE(e, nullptr);
  auto fn = e->factory(args);
  EXPECT_TRUE(fn.ok()) << fn.status().ToString();
  return fn.ok() ? std::move(*fn) : nullptr;
}

Result<sns::TaskOutput> Distill(const std::string& jpeg, std::map<std::string, std::string> args = {}, std::map<std::string, std::string> profile = {},
                                std::map<std::string, std::string> startup = {}) {
  auto w = Worker(std::move(startup));
  sns::TaskInput in;
  in.data = jpeg;
  in.mime_type = "image/jpeg";
  in.args = std::move(args);
  in.profile = std::move(profile);
  return w->Process(in);
}

DecodedJpeg Decode(const std::string& jpeg) {
  auto d = DecodeJpeg(jpeg, ImageLimits{}, [](Size s) { return s; });
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(*d) : DecodedJpeg{};
}

TEST(JpegDistillerTest, ThePapersWorkloadHalvesEachSideAtQuality25AndIsMuchSmaller) {
  std::string original = Encode(Photo(400, 300), 75);
  auto out = Distill(original);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->mime_type, "image/jpeg");
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_EQ(out->meta["size"], "200x150");
  EXPECT_EQ(out->meta["dct_scale"], "1/2");
  EXPECT_EQ(out->meta["quality"], "25");
  EXPECT_LT(out->data.size() * 3, original.size()) << "expected at least 3x smaller";
  auto d = Decode(out->data);
  EXPECT_EQ(d.source.width, 200);
  EXPECT_EQ(d.source.height, 150);
}

TEST(JpegDistillerTest, ASmallTargetUsesASmallerDctScaleThenAnExactResize) {
  std::string original = Encode(Photo(400, 300), 75);
  auto out = Distill(original, {{"scale", "0.2"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["size"], "80x60");
  EXPECT_EQ(out->meta["dct_scale"], "1/4");  // 100x75 covers 80x60; 1/8 (50x38) would not
  // A box (the URL API's w, h) keeps the aspect ratio; a profile's max_width caps the width.
  auto boxed = Distill(original, {{"w", "100"}, {"h", "100"}});
  ASSERT_TRUE(boxed.ok());
  EXPECT_EQ(boxed->meta["size"], "100x75");
  auto capped = Distill(original, {}, {{"max_width", "120"}});
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->meta["size"], "120x90");
  // Never enlarged.
  auto big = Distill(original, {{"w", "4000"}});
  ASSERT_TRUE(big.ok());
  EXPECT_NE(big->meta["size"], "4000x3000");
}

TEST(JpegDistillerTest, ExifOrientationIsAppliedAndTheTagDropped) {
  // 40x20: left half black, right half white; orientation 6 = rotate 90 degrees clockwise,
  // so upright the top half is black.
  std::vector<uint8_t> px(40 * 20 * 3);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x)
      for (int c = 0; c < 3; ++c) px[(static_cast<size_t>(y) * 40 + x) * 3 + c] = x < 20 ? 0 : 255;
  std::string jpeg = EncodeRaw(40, 20, JCS_RGB, 3, px, ExifWithOrientation(6));
  EXPECT_EQ(Decode(jpeg).orientation, 6);
  auto out = Distill(jpeg, {{"scale", "1"}, {"q", "95"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  auto d = Decode(out->data);
  EXPECT_EQ(d.orientation, 1) << "the output still carries an orientation";
  ASSERT_EQ(d.raster.width, 20);
  ASSERT_EQ(d.raster.height, 40);
  EXPECT_LT(d.raster.row(5)[10 * 3], 40);    // top: black
  EXPECT_GT(d.raster.row(34)[10 * 3], 215);  // bottom: white
}

TEST(JpegDistillerTest, ExifParsingIsBoundedAndIgnoresWhatItDoesNotKnow) {
  EXPECT_EQ(ExifOrientation(ExifWithOrientation(8)), 8);
  EXPECT_EQ(ExifOrientation(ExifWithOrientation(9)), 1);
  EXPECT_EQ(ExifOrientation(""), 1);
  EXPECT_EQ(ExifOrientation(std::string("Exif\0\0MM\0\x2a\xff\xff\xff\xff", 14)), 1);  // IFD offset past the end
  std::string cut = ExifWithOrientation(3);
  EXPECT_EQ(ExifOrientation(cut.substr(0, cut.size() - 10)), 1);
}

TEST(JpegDistillerTest, CmykFilesBecomeRgb) {
  // Pure red in CMYK: no cyan, full magenta and yellow, no black; stored inverted.
  std::vector<uint8_t> px(32 * 16 * 4);
  for (size_t i = 0; i < px.size(); i += 4) {
    px[i] = 255;      // C: 0 ink
    px[i + 1] = 0;    // M: full
    px[i + 2] = 0;    // Y: full
    px[i + 3] = 255;  // K: 0 ink
  }
  std::string jpeg = EncodeRaw(32, 16, JCS_CMYK, 4, px, "");
  auto d = Decode(jpeg);
  EXPECT_TRUE(d.cmyk);
  ASSERT_EQ(d.raster.channels, 3);
  const uint8_t* p = d.raster.row(8) + 16 * 3;
  EXPECT_GT(p[0], 220);
  EXPECT_LT(p[1], 35);
  EXPECT_LT(p[2], 35);
  // A textured CMYK picture goes through the distiller as RGB.
  std::vector<uint8_t> tex(256 * 128 * 4);
  for (int y = 0; y < 128; ++y)
    for (int x = 0; x < 256; ++x) {
      uint8_t* q = &tex[(static_cast<size_t>(y) * 256 + x) * 4];
      q[0] = static_cast<uint8_t>(x);
      q[1] = static_cast<uint8_t>(y * 2);
      q[2] = static_cast<uint8_t>(128 + 100 * std::sin(x * 0.4));
      q[3] = static_cast<uint8_t>(200 + 50 * std::cos(y * 0.3));
    }
  auto out = Distill(EncodeRaw(256, 128, JCS_CMYK, 4, tex, ""));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes") << out->meta["reason"];
  EXPECT_EQ(out->meta["size"], "128x64");
  auto d2 = Decode(out->data);
  EXPECT_FALSE(d2.cmyk);
  EXPECT_EQ(d2.raster.channels, 3);
}

TEST(JpegDistillerTest, ProgressiveFilesAreReadAndTheIccProfileCarriedOver) {
  std::string icc(300, 'i');  // libjpeg carries the bytes; their meaning is the viewer's business
  std::string jpeg = Encode(Photo(320, 240), 85, /*progressive=*/true, icc);
  auto in = Decode(jpeg);
  EXPECT_TRUE(in.progressive);
  EXPECT_EQ(in.icc, icc);
  auto out = Distill(jpeg);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Decode(out->data).icc, icc);
  // Gray output of a colour picture drops the (RGB) profile and has one channel.
  auto gray = Distill(jpeg, {}, {{"gray", "1"}});
  ASSERT_TRUE(gray.ok());
  auto g = Decode(gray->data);
  EXPECT_EQ(g.raster.channels, 1);
  EXPECT_EQ(g.icc, "");
}

TEST(JpegDistillerTest, AnAnswerNoSmallerThanTheOriginalIsTheOriginal) {
  std::string original = Encode(Photo(64, 64), 10);
  auto out = Distill(original, {{"scale", "1"}, {"q", "100"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "no");
  EXPECT_EQ(out->data, original);
}

TEST(JpegDistillerTest, HostileFilesAreRefusedWithAClearError) {
  std::string good = Encode(Photo(200, 150), 80);
  auto expect_refused = [](const Result<sns::TaskOutput>& r, const std::string& words) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(r.status().message().find(words), std::string::npos) << r.status().message();
  };
  expect_refused(Distill(good.substr(0, good.size() / 2)), "truncated");
  expect_refused(Distill("GIF89a not a jpeg"), "not a JPEG");
  std::string garbage = good.substr(0, 2) + std::string(500, '\x55');
  expect_refused(Distill(garbage), "JPEG");

  // A bomb: the frame header claims 60000 x 60000 pixels.
  std::string bomb = good;
  for (size_t i = 0; i + 9 < bomb.size(); ++i)
    if (static_cast<uint8_t>(bomb[i]) == 0xFF && static_cast<uint8_t>(bomb[i + 1]) == 0xC0) {
      bomb[i + 5] = static_cast<char>(0xEA);  // height 60000
      bomb[i + 6] = static_cast<char>(0x60);
      bomb[i + 7] = static_cast<char>(0xEA);  // width 60000
      bomb[i + 8] = static_cast<char>(0x60);
      break;
    }
  expect_refused(Distill(bomb), "max_megapixels");

  // A progressive file with more scans than allowed.
  std::string progressive = Encode(Photo(200, 150), 80, true);
  expect_refused(Distill(progressive, {}, {}, {{"max_scans", "3"}}), "scans");
  EXPECT_TRUE(Distill(progressive).ok());

  // Over the byte limit.
  expect_refused(Distill(good, {}, {}, {{"max_input_mb", "0.001"}}), "max_input_mb");
}

TEST(JpegDistillerTest, BadArgumentsAreClearErrors) {
  std::string good = Encode(Photo(100, 100), 80);
  auto q = Distill(good, {{"q", "500"}});
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("q=500"), std::string::npos) << q.status().message();
  EXPECT_FALSE(Distill(good, {{"w", "abc"}}).ok());
  auto* e = sns::FindWorkerImpl("jpeg");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->factory({{"quality", "0"}}).ok());
  EXPECT_FALSE(e->factory({{"max_scans", "x"}}).ok());
}

TEST(ResampleTest, DownscalingAveragesSoFineStripesBecomeGrayNotAliases) {
  Raster stripes;
  stripes.width = 64;
  stripes.height = 8;
  stripes.channels = 1;
  stripes.pixels.resize(64 * 8);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 64; ++x) stripes.row(y)[x] = (x % 2) ? 255 : 0;
  Raster small = ResizeArea(stripes, 16, 2);
  ASSERT_EQ(small.pixels.size(), 32u);
  for (auto v : small.pixels) EXPECT_NEAR(v, 128, 1);
  // Non-integer ratios too: 64 -> 24.
  Raster odd = ResizeArea(stripes, 24, 3);
  for (auto v : odd.pixels) EXPECT_NEAR(v, 128, 43);  // each covers 2.67 stripes: between 1/3 and 2/3 white
  // A flat picture stays flat at any ratio (the weights sum to one).
  Raster flat = stripes;
  std::fill(flat.pixels.begin(), flat.pixels.end(), 200);
  for (auto v : ResizeArea(flat, 7, 3).pixels) EXPECT_EQ(v, 200);
}

TEST(ResampleTest, OrientationsTurnTheRasterAsExifSays) {
  Raster r;
  r.width = 3;
  r.height = 2;
  r.channels = 1;
  r.pixels = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ApplyOrientation(r, 1).pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ApplyOrientation(r, 2).pixels, (std::vector<uint8_t>{3, 2, 1, 6, 5, 4}));
  EXPECT_EQ(ApplyOrientation(r, 3).pixels, (std::vector<uint8_t>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(ApplyOrientation(r, 4).pixels, (std::vector<uint8_t>{4, 5, 6, 1, 2, 3}));
  auto r6 = ApplyOrientation(r, 6);  // 90 clockwise: 2 wide, 3 high
  EXPECT_EQ(r6.width, 2);
  EXPECT_EQ(r6.pixels, (std::vector<uint8_t>{4, 1, 5, 2, 6, 3}));
  EXPECT_EQ(ApplyOrientation(r, 8).pixels, (std::vector<uint8_t>{3, 6, 2, 5, 1, 4}));
  EXPECT_EQ(ApplyOrientation(r, 5).pixels, (std::vector<uint8_t>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(ApplyOrientation(r, 7).pixels, (std::vector<uint8_t>{6, 3, 5, 2, 4, 1}));
}

}  // namespace
}  // namespace tacc::workers::image
