// The PNG distiller (issue 8) on pictures the tests make: photos become JPEG, line art a
// palette PNG, alpha survives a premultiplied resize, flatten and background, gray, the
// never-larger rule, and hostile files (truncated, garbage, a bomb-shaped IHDR, a bad
// CRC, over the byte limit).
#include <gtest/gtest.h>
#include <zlib.h>

#include <vector>

#include "image_test_util.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {
namespace {

using namespace testing;

std::string Png(const Raster& r) {
  auto e = EncodePng(r, PngEncodeOptions{});
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : std::string();
}

DecodedPng DecodeOk(const std::string& png) {
  auto d = DecodePng(png, ImageLimits{});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(*d) : DecodedPng{};
}

// `png` with its IHDR's width and height replaced (and the chunk's CRC made right).
std::string WithDeclaredSize(std::string png, uint32_t w, uint32_t h) {
  for (int i = 0; i < 4; ++i) {
    png[16 + static_cast<size_t>(i)] = static_cast<char>(w >> (24 - 8 * i));
    png[20 + static_cast<size_t>(i)] = static_cast<char>(h >> (24 - 8 * i));
  }
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int i = 0; i < 4; ++i) png[29 + static_cast<size_t>(i)] = static_cast<char>(crc >> (24 - 8 * i));
  return png;
}

TEST(PngCodecTest, RoundTripsEveryChannelCountAndReducesToWhatIsNeeded) {
  Raster rgba = Disc(20);
  auto d = DecodeOk(Png(rgba));
  EXPECT_EQ(d.raster.channels, 2) << "a white disc on transparent is gray + alpha";
  EXPECT_EQ(d.colour_type, 6);
  Raster photo = Photo(30, 20);
  d = DecodeOk(Png(photo));
  EXPECT_EQ(d.raster.channels, 3);
  EXPECT_EQ(d.raster.pixels, photo.pixels);
  // A palette PNG decodes to the same pixels; its bit depth fits the palette.
  auto indexed = Quantize(LineArt(40, 40), 256);
  ASSERT_TRUE(indexed.ok());
  EXPECT_EQ(indexed->palette.size(), 4u);
  auto pal = EncodePalettePng(*indexed, PngEncodeOptions{});
  ASSERT_TRUE(pal.ok());
  EXPECT_EQ(ReadPngHeader(*pal).colour_type, 3);
  EXPECT_EQ(ReadPngHeader(*pal).bit_depth, 2);
  EXPECT_EQ(DecodeOk(*pal).raster.pixels, LineArt(40, 40).pixels);
}

// A 5x5 8-bit gray PNG stored interlaced (Adam7; libspng writes no interlaced files).
std::string InterlacedGray(const std::vector<std::vector<uint8_t>>& px) {
  const int w = static_cast<int>(px[0].size()), h = static_cast<int>(px.size());
  static constexpr int kPass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  std::string raw;
  for (const auto& p : kPass) {
    if (p[0] >= w || p[1] >= h) continue;
    for (int y = p[1]; y < h; y += p[3]) {
      raw += '\0';  // filter: none
      for (int x = p[0]; x < w; x += p[2]) raw += static_cast<char>(px[static_cast<size_t>(y)][static_cast<size_t>(x)]);
    }
  }
  std::string z(compressBound(raw.size()), '\0');
  uLongf zlen = z.size();
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()), raw.size()), Z_OK);
  z.resize(zlen);
  auto chunk = [](const std::string& type, const std::string& data) {
    std::string c;
    for (int i = 0; i < 4; ++i) c += static_cast<char>(data.size() >> (24 - 8 * i));
    c += type + data;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(c.data() + 4), static_cast<uInt>(c.size() - 4));
    for (int i = 0; i < 4; ++i) c += static_cast<char>(crc >> (24 - 8 * i));
    return c;
  };
  std::string ihdr;
  for (int v : {w, h})
    for (int i = 0; i < 4; ++i) ihdr += static_cast<char>(v >> (24 - 8 * i));
  ihdr += std::string("\x08\x00\x00\x00\x01", 5);  // 8 bits, gray, deflate, filters, Adam7
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) + chunk("IEND", "");
}

TEST(PngCodecTest, InterlacedFilesAreDeinterlaced) {
  std::vector<std::vector<uint8_t>> px(5, std::vector<uint8_t>(5));
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) px[static_cast<size_t>(y)][static_cast<size_t>(x)] = static_cast<uint8_t>(x * 50 + y * 7);
  auto d = DecodeOk(InterlacedGray(px));
  EXPECT_TRUE(d.interlaced);
  ASSERT_EQ(d.raster.channels, 1);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(*Pixel(d.raster, x, y), px[static_cast<size_t>(y)][static_cast<size_t>(x)]) << x << "," << y;
}

TEST(ResampleTest, AlphaIsPremultipliedSoTransparentColoursDoNotFringeTheEdges) {
  Raster disc = Disc(64);
  Raster small = ResizeArea(disc, 16, 16);
  ASSERT_EQ(small.channels, 4);
  int partial = 0;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const uint8_t* p = Pixel(small, x, y);
      if (p[3] == 0) continue;
      if (p[3] < 255) ++partial;
      // The disc is white wherever it shows; the hidden black must not darken its edges.
      EXPECT_GE(p[0], 254) << "fringe at " << x << "," << y << " alpha " << int(p[3]);
    }
  EXPECT_GT(partial, 8) << "expected soft (partly transparent) edges";
  // Alpha is the mean coverage: the corner is transparent, the centre opaque.
  EXPECT_EQ(Pixel(small, 0, 0)[3], 0);
  EXPECT_EQ(Pixel(small, 8, 8)[3], 255);
}

TEST(PngDistillerTest, APhotoWithoutAlphaBecomesAMuchSmallerJpeg) {
  const std::string original = Png(Photo(400, 300));
  auto out = Distill("png", original, "image/png");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_EQ(out->mime_type, "image/jpeg");
  EXPECT_EQ(out->meta["format"], "jpeg");
  EXPECT_EQ(out->meta["size"], "200x150");
  EXPECT_LT(out->data.size() * 10, original.size());
  auto d = DecodeJpeg(out->data, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->source.width, 200);
}

TEST(PngDistillerTest, LineArtStaysAPalettePng) {
  const std::string original = Png(LineArt(400, 300));
  auto out = Distill("png", original, "image/png");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_EQ(out->mime_type, "image/png");
  EXPECT_EQ(out->meta["format"].rfind("png-palette-", 0), 0u) << out->meta["format"];
  EXPECT_LT(out->data.size(), original.size());
  const auto h = ReadPngHeader(out->data);
  EXPECT_EQ(h.colour_type, 3);
  EXPECT_EQ(h.width, 200);
  auto d = DecodeOk(out->data);
  EXPECT_LE(CountColours(d.raster, 256), 256);
  // A flat area keeps its exact colour: (100, 10) is red in the source's top half.
  const uint8_t* p = Pixel(d.raster, 52, 20);
  EXPECT_EQ(p[0], 200);
  EXPECT_EQ(p[1], 30);
}

TEST(PngDistillerTest, AlphaSurvivesWithCleanEdges) {
  Raster disc = Disc(200);
  // Give the disc photo-like colours so it is not merely gray.
  Raster photo = Photo(200, 200);
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 200; ++x)
      if (Pixel(disc, x, y)[3]) std::copy_n(Pixel(photo, x, y), 3, Pixel(disc, x, y));
  const std::string png = Png(disc);
  auto out = Distill("png", png, "image/png");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_EQ(out->mime_type, "image/png");
  auto d = DecodeOk(out->data);
  ASSERT_EQ(d.raster.channels, 4) << "alpha lost";
  EXPECT_EQ(d.raster.width, 100);
  EXPECT_EQ(Pixel(d.raster, 0, 0)[3], 0);
  EXPECT_EQ(Pixel(d.raster, 50, 50)[3], 255);
  // An edge pixel keeps the disc's colour (the photo's red rises with x), not darkened by
  // the hidden black.
  for (int x = 0; x < 100; ++x) {
    const uint8_t* p = Pixel(d.raster, x, 50);
    if (p[3] > 0 && p[3] < 255) {
      const uint8_t* src = Pixel(photo, 2 * x, 100);
      EXPECT_NEAR(p[0], src[0], 12) << "edge at x=" << x;
    }
  }
}

TEST(PngDistillerTest, FlattenPutsAlphaOnTheBackground) {
  const std::string png = Png(Disc(200));
  auto out = Distill("png", png, "image/png", {{"flatten", "1"}, {"background", "#ff0000"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  auto d = DecodeOk(out->data);  // white and red: few colours, so a palette PNG
  EXPECT_EQ(d.raster.channels, 3);
  EXPECT_EQ(Pixel(d.raster, 0, 0)[0], 255);
  EXPECT_EQ(Pixel(d.raster, 0, 0)[1], 0) << "the corner shows the red background";
  EXPECT_EQ(Pixel(d.raster, 50, 50)[1], 255) << "the disc stays white";
  auto bad = Distill("png", png, "image/png", {{"background", "purple"}});
  EXPECT_EQ(bad.status().kind(), ErrorKind::kInvalidArgument);
}

TEST(PngDistillerTest, GrayStaysGrayAndGrayIsAskable) {
  Raster photo = Photo(300, 200);
  auto out = Distill("png", Png(ToGray(photo)), "image/png");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->mime_type, "image/jpeg");
  auto j = DecodeJpeg(out->data, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->raster.channels, 1);
  auto asked = Distill("png", Png(LineArt(300, 200)), "image/png", {{"gray", "1"}});
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(DecodeOk(asked->data).raster.channels, 1);
}

TEST(PngDistillerTest, AnAnswerNoSmallerThanTheOriginalIsTheOriginal) {
  const std::string tiny = Png(LineArt(4, 4));
  auto out = Distill("png", tiny, "image/png");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "no");
  EXPECT_EQ(out->data, tiny);
  EXPECT_EQ(out->mime_type, "image/png");
}

TEST(PngDistillerTest, HostileFilesAreRefusedWithAClearError) {
  const std::string good = Png(Photo(200, 150));
  auto expect_refused = [](const std::string& bytes, const std::string& words, std::map<std::string, std::string> startup = {}) {
    auto out = Distill("png", bytes, "image/png", {}, {}, startup);
    ASSERT_FALSE(out.ok()) << words;
    EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(out.status().message().find(words), std::string::npos) << out.status().message();
  };
  expect_refused(good.substr(0, good.size() / 2), "truncated");
  expect_refused("\x89PNG\r\n\x1a\n" + std::string(200, 'x'), "PNG");
  expect_refused("GIF89a not a png at all", "not a PNG");
  expect_refused(WithDeclaredSize(good, 60000, 60000), "max_megapixels");
  expect_refused(WithDeclaredSize(good, 0x7fffffff, 1), "PNG");  // over libspng's own limits, or max_megapixels
  std::string bad_crc = good;
  bad_crc[bad_crc.size() / 2] = static_cast<char>(bad_crc[bad_crc.size() / 2] ^ 0x55);
  expect_refused(bad_crc, "PNG");
  expect_refused(good, "max_input_mb", {{"max_input_mb", "0.01"}});
  // A declared size that fits but pixels missing: refused, not padded.
  expect_refused(WithDeclaredSize(good, 200, 3000), "PNG");
}

TEST(PngDistillerTest, BadArgumentsAreClearErrors) {
  auto* e = sns::FindWorkerImpl("png");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->factory({{"quality", "0"}}).ok());
  EXPECT_FALSE(e->factory({{"max_megapixels", "lots"}}).ok());
  EXPECT_TRUE(e->factory({{"scale", "0.25"}, {"max_decode_ms", "100"}}).ok());
  auto out = Distill("png", Png(Photo(20, 20)), "image/png", {{"grays", "1"}});
  EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace tacc::workers::image
