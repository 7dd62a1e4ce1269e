// The image workers on real photographs (issue 8): four small JPEGs of scikit-image's
// sample pictures (tests/data/photos), and what the test makes of them: progressive,
// CMYK, gray and EXIF-rotated JPEGs, a PNG with an alpha channel, a 256-colour GIF. Each
// must come out at the paper's task (half the size each way), smaller than it went in,
// and still the same picture (a mean error against the original, scaled the same way,
// well under what a wrong picture gives).
#include <gtest/gtest.h>
#include <jpeglib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "image_test_util.h"
#include "workers/image/gif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {
namespace {

using testing::Distill;

std::string ReadPhoto(const std::string& name) {
  std::ifstream f(std::string(TACC_TEST_DATA_DIR) + "/photos/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

Raster DecodeAll(const std::string& bytes) {
  auto d = DecodeJpeg(bytes, ImageLimits{}, [](Size s) { return s; });
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? ApplyOrientation(std::move(d->raster), d->orientation) : Raster{};
}

// Mean absolute difference per sample of two rasters of one size and channel count.
double MeanError(const Raster& a, const Raster& b) {
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.channels, b.channels);
  if (a.pixels.size() != b.pixels.size() || a.pixels.empty()) return 1e9;
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int{a.pixels[i]} - int{b.pixels[i]});
  return sum / static_cast<double>(a.pixels.size());
}

// A CMYK JPEG of `rgb` (inks stored inverted, as Adobe's files are; libjpeg writes the
// Adobe marker of a CMYK file itself).
std::string CmykJpeg(const Raster& rgb) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(rgb.width);
  c.image_height = static_cast<JDIMENSION>(rgb.height);
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  jpeg_start_compress(&c, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(rgb.width) * 4);
  while (c.next_scanline < c.image_height) {
    const uint8_t* p = rgb.row(static_cast<int>(c.next_scanline));
    for (int x = 0; x < rgb.width; ++x) {
      // The usual naive separation: K from the brightest channel, C, M, Y scaled by the
      // rest, so that (255 - C)(255 - K)/255 gives R back. Adobe inverted: stored = 255 - ink.
      const int r = p[x * 3], g = p[x * 3 + 1], b = p[x * 3 + 2];
      const int k = 255 - std::max({r, g, b});
      auto ink = [&](int v) { return k == 255 ? 0 : (255 - v - k) * 255 / (255 - k); };
      row[x * 4 + 0] = static_cast<uint8_t>(255 - ink(r));
      row[x * 4 + 1] = static_cast<uint8_t>(255 - ink(g));
      row[x * 4 + 2] = static_cast<uint8_t>(255 - ink(b));
      row[x * 4 + 3] = static_cast<uint8_t>(255 - k);
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&c, rows, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

// `jpeg` with an EXIF APP1 holding only orientation `o`, right after SOI.
std::string WithOrientation(const std::string& jpeg, int o) {
  const std::string tiff = std::string("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00", 19) + static_cast<char>(o) +
                           std::string("\x00\x00\x00\x00\x00\x00", 6);
  const std::string payload = std::string("Exif\x00\x00", 6) + tiff;
  const size_t len = payload.size() + 2;
  std::string app1 = std::string("\xFF\xE1", 2) + static_cast<char>(len >> 8) + static_cast<char>(len & 0xFF) + payload;
  return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

const char* const kPhotos[] = {"astronaut.jpg", "chelsea.jpg", "coffee.jpg", "hubble.jpg"};

// What the worker made, decoded, against the original scaled to the same size.
double ErrorAgainst(const Raster& original, const sns::TaskOutput& out) {
  Raster got = out.mime_type == "image/png" ? DecodePng(out.data, ImageLimits{})->raster : DecodeAll(out.data);
  Raster want = ResizeArea(original, got.width, got.height);
  if (got.channels == 1 && want.channels == 3) want = ToGray(std::move(want));
  if (got.channels == 4) got = Flatten(std::move(got), Rgb{255, 255, 255});
  return MeanError(got, want);
}

TEST(RealPhotoTest, JpegsOfEveryKindAreHalvedAndStillThePicture) {
  for (const char* name : kPhotos) {
    SCOPED_TRACE(name);
    const std::string file = ReadPhoto(name);
    ASSERT_GT(file.size(), 5000u) << "tests/data/photos is missing";
    const Raster original = DecodeAll(file);
    JpegEncodeOptions prog;
    prog.quality = 75;
    prog.progressive = true;
    Raster gray = ToGray(original);
    JpegEncodeOptions gray_opts;
    gray_opts.quality = 75;
    const struct {
      const char* kind;
      std::string bytes;
    } inputs[] = {{"baseline", file}, {"progressive", *EncodeJpeg(original, prog)}, {"cmyk", CmykJpeg(original)},
                  {"gray", *EncodeJpeg(gray, gray_opts)}, {"rotated", WithOrientation(file, 6)}};
    for (const auto& in : inputs) {
      SCOPED_TRACE(in.kind);
      auto out = Distill("jpeg", in.bytes, "image/jpeg");
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ(out->meta["distilled"], "yes");
      EXPECT_LT(out->data.size(), in.bytes.size());
      Raster got = DecodeAll(out->data);
      const bool turned = std::string(in.kind) == "rotated";
      EXPECT_EQ(got.width, ((turned ? original.height : original.width) + 1) / 2);
      EXPECT_EQ(got.height, ((turned ? original.width : original.height) + 1) / 2);
      if (std::string(in.kind) == "gray") {
        EXPECT_EQ(got.channels, 1);
      }
      Raster reference = turned ? ApplyOrientation(Raster(original), 6) : original;
      if (std::string(in.kind) == "gray") reference = gray;
      // Quality 25 at half size: a mean error of a few levels; a wrong picture (turned the
      // wrong way, colours swapped, CMYK not inverted) gives tens.
      EXPECT_LT(ErrorAgainst(reference, *out), 10.0);
    }
  }
}

TEST(RealPhotoTest, APngWithAlphaKeepsItAndAGifBecomesAJpeg) {
  for (const char* name : kPhotos) {
    SCOPED_TRACE(name);
    const Raster original = DecodeAll(ReadPhoto(name));
    // The photo fading out to the right: an alpha channel with every value.
    Raster rgba;
    rgba.width = original.width;
    rgba.height = original.height;
    rgba.channels = 4;
    rgba.pixels.resize(static_cast<size_t>(rgba.width) * rgba.height * 4);
    for (int y = 0; y < rgba.height; ++y)
      for (int x = 0; x < rgba.width; ++x) {
        const uint8_t* s = original.row(y) + x * 3;
        uint8_t* d = rgba.row(y) + x * 4;
        d[0] = s[0], d[1] = s[1], d[2] = s[2];
        d[3] = static_cast<uint8_t>(255 - x * 255 / std::max(1, rgba.width - 1));
      }
    auto png = EncodePng(rgba, PngEncodeOptions{});
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    auto out = Distill("png", *png, "image/png");
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->mime_type, "image/png");
    EXPECT_LT(out->data.size(), png->size());
    auto back = DecodePng(out->data, ImageLimits{});
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->raster.channels, 4) << "the alpha channel was lost";
    EXPECT_EQ(back->raster.width, (original.width + 1) / 2);
    EXPECT_GT(back->raster.row(0)[3], 200) << "the left edge is opaque";
    EXPECT_LT(back->raster.row(0)[(back->raster.width - 1) * 4 + 3], 40) << "the right edge is transparent";

    // A 256-colour GIF of the photo: a photo, so JPEG comes out (the paper's GIF->JPEG).
    auto indexed = Quantize(original, 256);
    ASSERT_TRUE(indexed.ok()) << indexed.status().ToString();
    auto gif = EncodeGif({GifOutputFrame{*indexed, 0}}, -1);
    ASSERT_TRUE(gif.ok()) << gif.status().ToString();
    auto g = Distill("gif", *gif, "image/gif");
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->mime_type, "image/jpeg");
    EXPECT_LT(g->data.size(), gif->size());
    EXPECT_LT(ErrorAgainst(original, *g), 12.0);
  }
}

// A planned chain's step (to=<type>) makes that type, whatever it would have chosen, and
// even when that is not smaller; a type the worker cannot make is refused.
TEST(RealPhotoTest, PlannedStepsMakeTheTypeTheyAreTold) {
  const Raster original = DecodeAll(ReadPhoto("chelsea.jpg"));
  Raster rgba = original;  // with an alpha channel: a PNG the png worker would keep as PNG
  rgba.channels = 4;
  rgba.pixels.clear();
  for (size_t i = 0; i < original.pixels.size(); i += 3) rgba.pixels.insert(rgba.pixels.end(), {original.pixels[i], original.pixels[i + 1], original.pixels[i + 2], 128});
  auto png = EncodePng(rgba, PngEncodeOptions{});
  ASSERT_TRUE(png.ok());
  auto as_jpeg = Distill("png", *png, "image/png", {{"to", "image/jpeg"}});
  ASSERT_TRUE(as_jpeg.ok()) << as_jpeg.status().ToString();
  EXPECT_EQ(as_jpeg->mime_type, "image/jpeg");
  EXPECT_EQ(DecodeAll(as_jpeg->data).width, (original.width + 1) / 2);
  auto photo_png = EncodePng(original, PngEncodeOptions{});
  ASSERT_TRUE(photo_png.ok());
  EXPECT_EQ(Distill("png", *photo_png, "image/png")->mime_type, "image/jpeg") << "a photo PNG, left to choose, becomes JPEG";
  auto kept_png = Distill("png", *photo_png, "image/png", {{"to", "image/png"}});
  ASSERT_TRUE(kept_png.ok()) << kept_png.status().ToString();
  EXPECT_EQ(kept_png->mime_type, "image/png");
  EXPECT_FALSE(Distill("png", *photo_png, "image/png", {{"to", "image/gif"}}).ok());

  auto indexed = Quantize(original, 256);
  ASSERT_TRUE(indexed.ok());
  auto gif = EncodeGif({GifOutputFrame{*indexed, 10}, GifOutputFrame{*indexed, 10}}, 0);  // animated
  ASSERT_TRUE(gif.ok());
  EXPECT_EQ(Distill("gif", *gif, "image/gif")->mime_type, "image/gif") << "an animation, left to choose, stays a GIF";
  for (const char* type : {"image/jpeg", "image/png"}) {
    auto out = Distill("gif", *gif, "image/gif", {{"to", type}});
    ASSERT_TRUE(out.ok()) << type << ": " << out.status().ToString();
    EXPECT_EQ(out->mime_type, type);
  }
  EXPECT_FALSE(Distill("gif", *gif, "image/gif", {{"to", "text/html"}}).ok());
}

// Photos the png and gif workers re-encode go out as WebP or AVIF where the client takes
// them, as the jpeg worker's do.
TEST(RealPhotoTest, PhotosFromPngAndGifGoOutAsWebpOrAvifWhereAccepted) {
  const Raster original = DecodeAll(ReadPhoto("coffee.jpg"));
  auto png = EncodePng(original, PngEncodeOptions{});
  ASSERT_TRUE(png.ok());
  auto webp = Distill("png", *png, "image/png", {{"accept_webp", "1"}});
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  EXPECT_EQ(webp->mime_type, "image/webp");
  EXPECT_EQ(webp->meta["format"], "webp");
  auto indexed = Quantize(original, 256);
  ASSERT_TRUE(indexed.ok());
  auto gif = EncodeGif({GifOutputFrame{*indexed, 0}}, -1);
  ASSERT_TRUE(gif.ok());
  auto avif = Distill("gif", *gif, "image/gif", {{"accept_avif", "1"}, {"accept_webp", "1"}});
  ASSERT_TRUE(avif.ok()) << avif.status().ToString();
  EXPECT_EQ(avif->mime_type, "image/avif");
  auto plain = Distill("gif", *gif, "image/gif");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->mime_type, "image/jpeg") << "a client that says nothing gets JPEG";
}

}  // namespace
}  // namespace tacc::workers::image
