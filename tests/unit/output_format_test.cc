// WebP / AVIF output of the image distillers (issue 8): the format choice table (the
// client's accept flags x the profile's format x the task's f arg x the avif switch),
// the quality mapping, outputs that decode (libwebp's and libavif's own decoders), the
// JPEG fallback, and the jpeg worker answering in the chosen format.
#include <gtest/gtest.h>

#include <avif/avif.h>
#include <webp/decode.h>
#include <webp/mux.h>

#include <memory>

#include "image_test_pictures.h"
#include "workers/image/avif_codec.h"
#include "workers/image/output_format.h"
#include "workers/image/resample.h"
#include "workers/image/webp_codec.h"

namespace tacc::workers::image {
namespace {

using namespace test;
using Args = std::map<std::string, std::string>;

struct Row {
  bool accept_avif, accept_webp;
  const char* profile;  // "" : none
  const char* f;        // "" : none
  bool avif_enabled;
  OutputFormat expected;
};

TEST(OutputFormatTest, TheChoiceFollowsTheTable) {
  using F = OutputFormat;
  const Row rows[] = {
      // auto (nothing asked, or auto asked)
      {false, false, "", "", true, F::kJpeg},
      {false, true, "", "", true, F::kWebp},
      {true, false, "", "", true, F::kAvif},
      {true, true, "", "", true, F::kAvif},
      {true, true, "", "", false, F::kWebp},  // avif off for the class
      {true, false, "", "", false, F::kJpeg},
      {true, true, "auto", "", true, F::kAvif},
      {true, true, "", "auto", true, F::kAvif},
      // the profile's explicit choice, if the client accepts it
      {true, true, "jpeg", "", true, F::kJpeg},
      {true, true, "webp", "", true, F::kWebp},
      {false, false, "webp", "", true, F::kJpeg},  // not accepted: JPEG
      {true, false, "webp", "", true, F::kJpeg},
      {false, true, "avif", "", true, F::kJpeg},
      {true, true, "avif", "", true, F::kAvif},
      {true, true, "avif", "", false, F::kJpeg},  // asked, accepted, but off
      {true, true, "bogus", "", true, F::kAvif},  // an unknown profile value counts as auto
      // the URL API's f wins over the profile
      {true, true, "avif", "webp", true, F::kWebp},
      {true, true, "webp", "jpeg", true, F::kJpeg},
      {false, false, "jpeg", "avif", true, F::kJpeg},  // not accepted
      {true, true, "avif", "png", true, F::kJpeg},     // photos go out as JPEG
      {true, true, "", "gif", true, F::kJpeg},
      {false, true, "jpeg", "auto", true, F::kWebp},
  };
  for (const auto& r : rows) {
    Args args, profile;
    if (r.accept_avif) args["accept_avif"] = "1";
    if (r.accept_webp) args["accept_webp"] = "1";
    if (*r.profile) profile["format"] = r.profile;
    if (*r.f) args["f"] = r.f;
    OutputSettings s;
    s.avif = r.avif_enabled;
    auto c = ChooseOutput(args, profile, s, 25);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(FormatName(c->format), FormatName(r.expected))
        << "accept avif=" << r.accept_avif << " webp=" << r.accept_webp << " profile=" << r.profile << " f=" << r.f
        << " avif on=" << r.avif_enabled << " (" << c->why << ")";
    EXPECT_FALSE(c->why.empty());
    EXPECT_EQ(c->quality, 25);
  }
  // A planned chain's to= counts over the profile, and still only within what is accepted.
  auto to = ChooseOutput({{"to", "image/webp"}, {"accept_webp", "1"}, {"accept_avif", "1"}}, {{"format", "avif"}}, {}, 25);
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(FormatName(to->format), FormatName(OutputFormat::kWebp));
  auto to_refused = ChooseOutput({{"to", "image/avif"}}, {}, {}, 25);
  ASSERT_TRUE(to_refused.ok());
  EXPECT_EQ(FormatName(to_refused->format), FormatName(OutputFormat::kJpeg));
  // A rule's format= counts when there is no f; f wins over it.
  auto rule = ChooseOutput({{"format", "webp"}, {"accept_webp", "1"}}, {{"format", "jpeg"}}, {}, 50);
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(rule->format, OutputFormat::kWebp);
  EXPECT_EQ(ChooseOutput({{"format", "webp"}, {"f", "jpeg"}, {"accept_webp", "1"}}, {}, {}, 50)->format, OutputFormat::kJpeg);
  // A task arg that is not a format is an error, not a silent default.
  auto bad = ChooseOutput({{"f", "bmp"}}, {}, {}, 25);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bmp"), std::string::npos);
}

TEST(OutputFormatTest, StartUpArgsAreChecked) {
  auto d = ParseOutputSettings({});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->avif);
  EXPECT_EQ(d->avif_speed, 8);
  EXPECT_EQ(d->avif_codec, AvifCodec::kAom);
  EXPECT_EQ(d->webp_method, 4);
  auto s = ParseOutputSettings({{"avif", "0"}, {"avif_speed", "10"}, {"webp_method", "0"}, {"avif_codec", "rav1e"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_FALSE(s->avif);
  EXPECT_EQ(s->avif_speed, 10);
  EXPECT_EQ(s->webp_method, 0);
  EXPECT_EQ(s->avif_codec, AvifCodec::kRav1e);
  for (const Args& bad : {Args{{"avif", "maybe"}}, Args{{"avif_speed", "11"}}, Args{{"avif_speed", "x"}}, Args{{"webp_method", "7"}},
                          Args{{"avif_codec", "x265"}}, Args{{"webp_method", ""}}}) {
    auto r = ParseOutputSettings(bad);
    ASSERT_FALSE(r.ok()) << bad.begin()->first << "=" << bad.begin()->second;
    EXPECT_NE(r.status().message().find(bad.begin()->first), std::string::npos) << r.status().message();
  }
  // The worker's factory refuses them too.
  auto* e = sns::FindWorkerImpl("jpeg");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->factory({{"avif_speed", "-1"}}).ok());
  EXPECT_TRUE(e->factory({{"avif", "0"}, {"webp_method", "6"}}).ok());
}

TEST(OutputFormatTest, QualityMapsOntoEachEncodersScale) {
  EXPECT_EQ(WebpQuality(25), 25);
  EXPECT_EQ(WebpQuality(100), 100);
  EXPECT_EQ(AvifQuantizer(100), 0);
  EXPECT_EQ(AvifQuantizer(90), 11);
  EXPECT_EQ(AvifQuantizer(75), 28);
  EXPECT_EQ(AvifQuantizer(50), 35);
  EXPECT_EQ(AvifQuantizer(25), 42);
  EXPECT_EQ(AvifQuantizer(1), 49);
  EXPECT_EQ(AvifQuantizer(0), 49);  // clamped to 1..100 first
  for (int q = 2; q <= 100; ++q) EXPECT_LE(AvifQuantizer(q), AvifQuantizer(q - 1)) << "higher quality, coarser quantizer at " << q;
}

// The dimensions and (if `rgb`) the pixels of a WebP, decoded by libwebp.
struct DecodedWebp {
  int width = 0, height = 0;
  Raster rgb;
};
DecodedWebp DecodeWebp(const std::string& webp) {
  DecodedWebp d;
  auto* data = reinterpret_cast<const uint8_t*>(webp.data());
  EXPECT_TRUE(WebPGetInfo(data, webp.size(), &d.width, &d.height));
  uint8_t* px = WebPDecodeRGB(data, webp.size(), &d.width, &d.height);
  EXPECT_NE(px, nullptr);
  if (px) {
    d.rgb.width = d.width;
    d.rgb.height = d.height;
    d.rgb.pixels.assign(px, px + static_cast<size_t>(d.width) * d.height * 3);
    WebPFree(px);
  }
  return d;
}

struct AvifDecoderDeleter {
  void operator()(avifDecoder* d) const { avifDecoderDestroy(d); }
};

// The decoded image's size, pixel format and ICC profile, by libavif (dav1d).
struct DecodedAvif {
  bool ok = false;
  int width = 0, height = 0;
  avifPixelFormat format = AVIF_PIXEL_FORMAT_NONE;
  std::string icc;
  Raster rgb;
};
DecodedAvif DecodeAvif(const std::string& avif) {
  DecodedAvif d;
  std::unique_ptr<avifDecoder, AvifDecoderDeleter> dec(avifDecoderCreate());
  avifImage* image = avifImageCreateEmpty();
  avifResult r = avifDecoderReadMemory(dec.get(), image, reinterpret_cast<const uint8_t*>(avif.data()), avif.size());
  EXPECT_EQ(r, AVIF_RESULT_OK) << avifResultToString(r);
  if (r == AVIF_RESULT_OK) {
    d.ok = true;
    d.width = static_cast<int>(image->width);
    d.height = static_cast<int>(image->height);
    d.format = image->yuvFormat;
    d.icc.assign(reinterpret_cast<const char*>(image->icc.data), image->icc.size);
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, image);
    rgb.format = AVIF_RGB_FORMAT_RGB;
    rgb.depth = 8;
    d.rgb.width = d.width;
    d.rgb.height = d.height;
    d.rgb.pixels.resize(static_cast<size_t>(d.width) * d.height * 3);
    rgb.pixels = d.rgb.pixels.data();
    rgb.rowBytes = static_cast<uint32_t>(d.width) * 3;
    EXPECT_EQ(avifImageYUVToRGB(image, &rgb), AVIF_RESULT_OK);
  }
  avifImageDestroy(image);
  return d;
}

TEST(OutputFormatTest, WebpOutputDecodesToTheSamePicture) {
  const Raster photo = PhotoRaster(160, 120);
  OutputChoice c;
  c.format = OutputFormat::kWebp;
  c.quality = 80;
  auto e = EncodeFor(photo, c);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->format, OutputFormat::kWebp) << e->fallback;
  EXPECT_EQ(e->mime_type, "image/webp");
  EXPECT_EQ(e->bytes.substr(0, 4), "RIFF");
  auto d = DecodeWebp(e->bytes);
  EXPECT_EQ(d.width, 160);
  EXPECT_EQ(d.height, 120);
  ASSERT_EQ(d.rgb.pixels.size(), photo.pixels.size());
  EXPECT_TRUE(Near(At(d.rgb, 150, 10), At(photo, 150, 10), 25));  // reddish corner
  EXPECT_TRUE(Near(At(d.rgb, 10, 110), At(photo, 10, 110), 25));  // greenish corner

  // A gray raster is encoded (as RGB), and an ICC profile is carried in the container.
  Raster gray = ToGray(photo);
  c.icc = std::string(200, 'p');
  auto g = EncodeFor(gray, c);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->format, OutputFormat::kWebp) << g->fallback;
  EXPECT_EQ(DecodeWebp(g->bytes).width, 160);
  WebPData data{reinterpret_cast<const uint8_t*>(g->bytes.data()), g->bytes.size()};
  WebPMux* mux = WebPMuxCreate(&data, 0);
  ASSERT_NE(mux, nullptr);
  WebPData icc;
  ASSERT_EQ(WebPMuxGetChunk(mux, "ICCP", &icc), WEBP_MUX_OK);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(icc.bytes), icc.size), c.icc);
  WebPMuxDelete(mux);
}

TEST(OutputFormatTest, AvifOutputDecodesToTheSamePicture) {
  const Raster photo = PhotoRaster(160, 120);
  OutputChoice c;
  c.format = OutputFormat::kAvif;
  c.quality = 80;
  c.settings.avif_speed = 10;
  c.icc = std::string(150, 'q');
  auto e = EncodeFor(photo, c);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->format, OutputFormat::kAvif) << e->fallback;
  EXPECT_EQ(e->mime_type, "image/avif");
  EXPECT_EQ(e->bytes.substr(4, 8), "ftypavif");
  auto d = DecodeAvif(e->bytes);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.width, 160);
  EXPECT_EQ(d.height, 120);
  EXPECT_EQ(d.format, AVIF_PIXEL_FORMAT_YUV420);
  EXPECT_EQ(d.icc, c.icc);
  EXPECT_TRUE(Near(At(d.rgb, 150, 10), At(photo, 150, 10), 25));
  EXPECT_TRUE(Near(At(d.rgb, 10, 110), At(photo, 10, 110), 25));

  // Gray is monochrome AVIF (4:0:0).
  c.icc.clear();
  auto g = EncodeFor(ToGray(photo), c);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->format, OutputFormat::kAvif) << g->fallback;
  auto dg = DecodeAvif(g->bytes);
  EXPECT_EQ(dg.format, AVIF_PIXEL_FORMAT_YUV400);
  EXPECT_EQ(dg.width, 160);
}

TEST(OutputFormatTest, EveryAvifCodecThisLibavifHasEncodes) {
  const Raster photo = PhotoRaster(96, 64);  // SVT-AV1 1.4 wants 64 pixels a side or more
  for (const char* name : {"aom", "rav1e", "svt"}) {
    auto codec = ParseAvifCodec(name);
    if (!codec.ok()) continue;  // not built into this libavif: the factory refuses it
    AvifEncodeOptions o;
    o.codec = *codec;
    o.speed = 10;
    auto e = EncodeAvif(photo, o);
    ASSERT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    auto d = DecodeAvif(*e);
    EXPECT_EQ(d.width, 96) << name;
  }
}

TEST(OutputFormatTest, AFormatThatDoesNoBetterThanJpegFallsBackToJpeg) {
  // WebP stops at 16383 pixels a side: the encoder fails, the JPEG goes out.
  Raster wide;
  wide.width = 16400;
  wide.height = 2;
  wide.channels = 1;
  wide.pixels.assign(static_cast<size_t>(wide.width) * 2, 128);
  OutputChoice c;
  c.format = OutputFormat::kWebp;
  auto e = EncodeFor(wide, c);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->format, OutputFormat::kJpeg);
  EXPECT_EQ(e->mime_type, "image/jpeg");
  EXPECT_NE(e->fallback.find("16383"), std::string::npos) << e->fallback;

  // A picture that AVIF codes larger than JPEG: a few pixels (AVIF's container alone
  // is some 300 bytes)... measured, not assumed: whichever is larger must not go out.
  Raster tiny = PhotoRaster(8, 8);
  for (auto format : {OutputFormat::kAvif, OutputFormat::kWebp}) {
    OutputChoice t;
    t.format = format;
    t.quality = 25;
    t.settings.avif_speed = 10;
    auto chosen = EncodeFor(tiny, t);
    t.compare_with_jpeg = false;
    auto alone = EncodeFor(tiny, t);
    JpegEncodeOptions j;
    j.quality = 25;
    auto jpeg = EncodeJpeg(tiny, j);
    ASSERT_TRUE(chosen.ok() && alone.ok() && jpeg.ok());
    EXPECT_EQ(alone->format, format);
    EXPECT_EQ(chosen->bytes.size(), std::min(alone->bytes.size(), jpeg->size())) << FormatName(format);
    EXPECT_EQ(chosen->format, alone->bytes.size() < jpeg->size() ? format : OutputFormat::kJpeg) << FormatName(format);
    EXPECT_EQ(chosen->fallback.empty(), chosen->format == format) << chosen->fallback;
  }
}

TEST(OutputFormatTest, TheJpegWorkerAnswersInTheChosenFormat) {
  const std::string original = JpegOf(PhotoRaster(400, 300), 75);
  auto webp = RunJpegWorker(original, {{"accept_webp", "1"}});
  ASSERT_TRUE(webp.ok()) << webp.status().ToString();
  EXPECT_EQ(webp->mime_type, "image/webp");
  EXPECT_EQ(webp->meta["format"], "webp") << webp->meta["format_choice"];
  EXPECT_EQ(webp->meta["distilled"], "yes");
  EXPECT_EQ(webp->meta["size"], "200x150");
  auto dw = DecodeWebp(webp->data);
  EXPECT_EQ(dw.width, 200);
  EXPECT_EQ(dw.height, 150);

  auto avif = RunJpegWorker(original, {{"accept_webp", "1"}, {"accept_avif", "1"}}, {}, {{"avif_speed", "10"}});
  ASSERT_TRUE(avif.ok()) << avif.status().ToString();
  EXPECT_EQ(avif->mime_type, "image/avif");
  EXPECT_EQ(avif->meta["format"], "avif") << avif->meta["format_choice"];
  auto da = DecodeAvif(avif->data);
  EXPECT_EQ(da.width, 200);
  EXPECT_EQ(da.height, 150);

  // AVIF off for the class: WebP; the profile asks JPEG: JPEG; nothing accepted: JPEG.
  auto off = RunJpegWorker(original, {{"accept_webp", "1"}, {"accept_avif", "1"}}, {}, {{"avif", "0"}});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->mime_type, "image/webp");
  auto asked = RunJpegWorker(original, {{"accept_webp", "1"}}, {{"format", "jpeg"}});
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(asked->mime_type, "image/jpeg");
  auto plain = RunJpegWorker(original, {}, {{"format", "webp"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->mime_type, "image/jpeg");
  EXPECT_EQ(plain->meta["format"], "jpeg");
  EXPECT_NE(plain->meta["format_choice"].find("does not accept"), std::string::npos) << plain->meta["format_choice"];
  EXPECT_EQ(DecodeWhole(plain->data).width, 200);
  // A bad f is refused like any bad argument.
  EXPECT_FALSE(RunJpegWorker(original, {{"f", "tiff"}}).ok());
}

TEST(OutputFormatTest, NeverMoreBytesThanTheOriginalWhateverTheFormat) {
  // Noise, kept coarsely in the original (quality 5) and asked back at quality 100 and
  // full size: no format beats the original, which goes out as it came, as a JPEG,
  // whatever the client accepts.
  Raster noise;
  noise.width = noise.height = 64;
  noise.pixels.resize(64 * 64 * 3);
  uint32_t seed = 12345;
  for (auto& p : noise.pixels) p = static_cast<uint8_t>((seed = seed * 1103515245u + 12345u) >> 24);
  const std::string original = JpegOf(noise, 5);
  for (const Args& accept : {Args{{"accept_webp", "1"}}, Args{{"accept_avif", "1"}}, Args{}}) {
    Args args = accept;
    args["scale"] = "1";
    args["q"] = "100";
    auto out = RunJpegWorker(original, args, {}, {{"avif_speed", "10"}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->meta["distilled"], "no");
    EXPECT_EQ(out->data, original);
    EXPECT_EQ(out->mime_type, "image/jpeg");
    EXPECT_EQ(out->meta["format"], "jpeg");
  }
}

}  // namespace
}  // namespace tacc::workers::image
