// The GIF decoder and distiller (issue 8) on GIFs the tests write with giflib: frames
// composited with transparency and every disposal, interlaced frames, still photos to
// JPEG, line art to a palette, animations kept animated (frame count, a composited pixel),
// the frame cap, and hostile files (truncated, garbage, a huge declared screen or frame
// in a few bytes, too many frames).
#include <gif_lib.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "image_test_util.h"
#include "workers/image/gif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"

namespace tacc::workers::image {
namespace {

using namespace testing;

// Palette indices of the test GIFs' global colour table.
enum : uint8_t { kRed = 0, kGreen = 1, kBlue = 2, kWhite = 3, kClear = 4 };

struct TestFrame {
  int left = 0, top = 0, width = 0, height = 0;
  std::vector<uint8_t> indices;  // width * height
  int disposal = DISPOSAL_UNSPECIFIED;
  int transparent = NO_TRANSPARENT_COLOR;
  bool interlaced = false;
  int delay_cs = 10;
  std::vector<GifColorType> local;  // a local colour table if not empty
};

int Append(GifFileType* gif, const GifByteType* buf, int n) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
  return n;
}

// A GIF89a written with giflib's low-level API: what real encoders write, sub-rectangles
// and disposal included.
std::string WriteGif(int sw, int sh, const std::vector<TestFrame>& frames, const std::vector<GifColorType>& global = {}) {
  std::vector<GifColorType> colours = global;
  if (colours.empty()) colours = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
  std::string out;
  int err = 0;
  GifFileType* gif = EGifOpen(&out, Append, &err);
  EXPECT_NE(gif, nullptr);
  EGifSetGifVersion(gif, true);
  ColorMapObject* map = GifMakeMapObject(static_cast<int>(colours.size()), colours.data());
  EXPECT_EQ(EGifPutScreenDesc(gif, sw, sh, 8, 0, map), GIF_OK);
  GifFreeMapObject(map);
  if (frames.size() > 1) {
    const GifByteType loop[3] = {1, 0, 0};
    EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE);
    EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0");
    EGifPutExtensionBlock(gif, 3, loop);
    EGifPutExtensionTrailer(gif);
  }
  for (const auto& f : frames) {
    GraphicsControlBlock gcb{f.disposal, false, f.delay_cs, f.transparent};
    GifByteType ext[4];
    const size_t len = EGifGCBToExtension(&gcb, ext);
    EXPECT_EQ(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext), GIF_OK);
    ColorMapObject* local = f.local.empty() ? nullptr : GifMakeMapObject(static_cast<int>(f.local.size()), f.local.data());
    EXPECT_EQ(EGifPutImageDesc(gif, f.left, f.top, f.width, f.height, f.interlaced, local), GIF_OK);
    if (local) GifFreeMapObject(local);
    std::vector<int> rows;
    if (f.interlaced) {
      for (int pass = 0; pass < 4; ++pass)
        for (int y = std::vector<int>{0, 4, 2, 1}[pass]; y < f.height; y += std::vector<int>{8, 8, 4, 2}[pass]) rows.push_back(y);
    } else {
      for (int y = 0; y < f.height; ++y) rows.push_back(y);
    }
    for (int y : rows) {
      std::vector<GifPixelType> line(f.indices.begin() + static_cast<ptrdiff_t>(y) * f.width, f.indices.begin() + static_cast<ptrdiff_t>(y + 1) * f.width);
      EXPECT_EQ(EGifPutLine(gif, line.data(), f.width), GIF_OK);
    }
  }
  EXPECT_EQ(EGifCloseFile(gif, &err), GIF_OK);
  return out;
}

TestFrame Fill(int left, int top, int w, int h, uint8_t index) {
  TestFrame f;
  f.left = left;
  f.top = top;
  f.width = w;
  f.height = h;
  f.indices.assign(static_cast<size_t>(w) * static_cast<size_t>(h), index);
  return f;
}

// Each composited canvas of `gif`, as RGBA.
std::vector<Raster> Canvases(const std::string& gif, GifInfo* info = nullptr) {
  std::vector<Raster> out;
  auto r = DecodeGif(gif, ImageLimits{}, 1000, [&](const GifFrame& f) {
    out.push_back(*f.canvas);
    return true;
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (info && r.ok()) *info = *r;
  return out;
}

std::array<uint8_t, 4> At(const Raster& r, int x, int y) {
  const uint8_t* p = Pixel(r, x, y);
  return {p[0], p[1], p[2], p[3]};
}
constexpr std::array<uint8_t, 4> kRedPx{255, 0, 0, 255}, kGreenPx{0, 255, 0, 255}, kBluePx{0, 0, 255, 255}, kNone{0, 0, 0, 0};

// A 64x64, three-frame animation: red everywhere (kept); a blue square at the top left
// whose right half is transparent (restored to the previous canvas after); a green
// square at the bottom right.
std::string ThreeFrames() {
  TestFrame a = Fill(0, 0, 64, 64, kRed);
  a.disposal = DISPOSE_DO_NOT;
  TestFrame b = Fill(0, 0, 32, 32, kBlue);
  for (int y = 0; y < 32; ++y)
    for (int x = 16; x < 32; ++x) b.indices[static_cast<size_t>(y * 32 + x)] = kClear;
  b.transparent = kClear;
  b.disposal = DISPOSE_PREVIOUS;
  TestFrame c = Fill(32, 32, 32, 32, kGreen);
  c.disposal = DISPOSE_BACKGROUND;
  return WriteGif(64, 64, {a, b, c});
}

TEST(GifCodecTest, FramesAreCompositedWithTransparencyAndEachDisposal) {
  GifInfo info;
  auto c = Canvases(ThreeFrames(), &info);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(info.frames, 3);
  EXPECT_EQ(info.loop_count, 0);
  EXPECT_EQ(At(c[0], 5, 5), kRedPx);
  EXPECT_EQ(At(c[1], 5, 5), kBluePx);
  EXPECT_EQ(At(c[1], 20, 5), kRedPx) << "transparent pixels show the frame below";
  EXPECT_EQ(At(c[1], 40, 40), kRedPx);
  EXPECT_EQ(At(c[2], 5, 5), kRedPx) << "disposal 'previous' restored the red";
  EXPECT_EQ(At(c[2], 40, 40), kGreenPx);

  // Disposal 'background' clears to transparent; a frame off the canvas is clipped.
  TestFrame a = Fill(0, 0, 16, 16, kBlue);
  a.disposal = DISPOSE_BACKGROUND;
  TestFrame b = Fill(8, 8, 16, 16, kGreen);  // half off a 16x16 canvas
  auto d = Canvases(WriteGif(16, 16, {a, b}));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(At(d[1], 2, 2), kNone);
  EXPECT_EQ(At(d[1], 12, 12), kGreenPx);
}

TEST(GifCodecTest, InterlacedFramesAndLocalColourTablesDecode) {
  TestFrame f = Fill(0, 0, 10, 13, 0);
  for (int y = 0; y < 13; ++y)
    for (int x = 0; x < 10; ++x) f.indices[static_cast<size_t>(y * 10 + x)] = static_cast<uint8_t>(y % 2);
  f.interlaced = true;
  f.local = {{10, 20, 30}, {200, 100, 50}};
  auto c = Canvases(WriteGif(10, 13, {f}));
  ASSERT_EQ(c.size(), 1u);
  for (int y = 0; y < 13; ++y) EXPECT_EQ(Pixel(c[0], 3, y)[0], y % 2 ? 200 : 10) << "row " << y;
}

TEST(GifCodecTest, EncodedAnimationsDecodeToTheSameCanvases) {
  std::vector<GifOutputFrame> frames;
  for (int i = 0; i < 3; ++i) {
    Raster r = Blank(12, 8, 4);
    for (int x = 0; x < 12; ++x) {
      uint8_t* p = Pixel(r, x, i);
      p[0] = 255;
      p[3] = 255;
    }
    auto q = Quantize(r, 256);
    ASSERT_TRUE(q.ok());
    frames.push_back({std::move(*q), 7});
  }
  auto gif = EncodeGif(frames, 3);
  ASSERT_TRUE(gif.ok()) << gif.status().ToString();
  GifInfo info;
  auto c = Canvases(*gif, &info);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(info.loop_count, 3);
  // Each frame shows only its own row: the earlier ones were disposed to transparent.
  EXPECT_EQ(At(c[2], 4, 2), kRedPx);
  EXPECT_EQ(At(c[2], 4, 1), kNone);
  EXPECT_EQ(At(c[2], 4, 0), kNone);
}

// A bigger animation with texture, so that scaling pays: 3 frames of 200x200.
std::string TexturedAnimation(int frames) {
  std::vector<GifColorType> grays;
  for (int i = 0; i < 256; ++i) grays.push_back({static_cast<GifByteType>(i), static_cast<GifByteType>(i), static_cast<GifByteType>(255 - i)});
  std::vector<TestFrame> fs;
  for (int k = 0; k < frames; ++k) {
    TestFrame f = Fill(0, 0, 200, 200, 0);
    for (int y = 0; y < 200; ++y)
      for (int x = 0; x < 200; ++x) f.indices[static_cast<size_t>(y * 200 + x)] = static_cast<uint8_t>((x * 7 + y * 3 + k * 40 + (x * y) % 13) & 255);
    if (k == 1) {  // a transparent hole in the second frame: the first shows through
      for (int y = 0; y < 40; ++y)
        for (int x = 0; x < 40; ++x) f.indices[static_cast<size_t>(y * 200 + x)] = 255;
      f.transparent = 255;
    }
    f.disposal = DISPOSE_DO_NOT;
    fs.push_back(std::move(f));
  }
  return WriteGif(200, 200, fs, grays);
}

TEST(GifDistillerTest, AScaledAnimationIsSmallerAndKeepsItsFramesAndTiming) {
  const std::string original = TexturedAnimation(3);
  auto out = Distill("gif", original, "image/gif");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes") << out->meta["reason"];
  EXPECT_EQ(out->mime_type, "image/gif");
  EXPECT_EQ(out->meta["frames"], "3");
  EXPECT_LT(out->data.size(), original.size());
  std::vector<int> delays;
  std::vector<Raster> canvases;
  auto r = DecodeGif(out->data, ImageLimits{}, 100, [&](const GifFrame& f) {
    delays.push_back(f.delay_cs);
    canvases.push_back(*f.canvas);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(canvases.size(), 3u);
  // The transparent hole at the top left of frame 1 shows frame 0 (composited before
  // scaling), not transparency; each frame was quantized on its own, hence the tolerance.
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(Pixel(canvases[1], 5, 5)[c], Pixel(canvases[0], 5, 5)[c], 16) << "channel " << c;
  EXPECT_EQ(Pixel(canvases[1], 5, 5)[3], 255);
  EXPECT_EQ(r->frames, 3);
  EXPECT_EQ(r->canvas.width, 100);
  EXPECT_EQ(r->loop_count, 0);
  EXPECT_EQ(delays, (std::vector<int>{10, 10, 10}));
}

TEST(GifDistillerTest, TooManyFramesPassUntouched) {
  const std::string original = TexturedAnimation(5);
  auto out = Distill("gif", original, "image/gif", {}, {}, {{"max_frames", "4"}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "no");
  EXPECT_NE(out->meta["reason"].find("max_frames"), std::string::npos);
  EXPECT_EQ(out->data, original);
  auto fine = Distill("gif", original, "image/gif", {}, {}, {{"max_frames", "5"}});
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->meta["frames"], "5");
  EXPECT_FALSE(sns::FindWorkerImpl("gif")->factory({{"max_frames", "0"}}).ok());
}

// A still photo dithered to 256 colours, as GIFs of photos are.
std::string PhotoGif(int w, int h) {
  Raster photo = Photo(w, h);
  auto q = Quantize(photo, 256);
  EXPECT_TRUE(q.ok());
  std::vector<GifColorType> colours;
  for (const auto& c : q->palette) colours.push_back({c[0], c[1], c[2]});
  while (colours.size() < 256) colours.push_back({0, 0, 0});
  TestFrame f = Fill(0, 0, w, h, 0);
  f.indices = q->indices;
  return WriteGif(w, h, {f}, colours);
}

TEST(GifDistillerTest, AStillPhotoBecomesJpeg) {
  const std::string original = PhotoGif(400, 300);
  auto out = Distill("gif", original, "image/gif");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_EQ(out->mime_type, "image/jpeg");
  EXPECT_EQ(out->meta["size"], "200x150");
  EXPECT_LT(out->data.size() * 4, original.size());
  EXPECT_TRUE(DecodeJpeg(out->data, ImageLimits{}, [](Size s) { return s; }).ok());
}

TEST(GifDistillerTest, StillLineArtKeepsAPaletteAsGifOrPng) {
  Raster art = LineArt(400, 300);
  auto q = Quantize(art, 256);
  ASSERT_TRUE(q.ok());
  std::vector<GifColorType> colours;
  for (const auto& c : q->palette) colours.push_back({c[0], c[1], c[2]});
  TestFrame f = Fill(0, 0, 400, 300, 0);
  f.indices = q->indices;
  const std::string original = WriteGif(400, 300, {f}, colours);
  auto out = Distill("gif", original, "image/gif");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->meta["distilled"], "yes");
  EXPECT_NE(out->mime_type, "image/jpeg") << "line art must not become JPEG";
  EXPECT_TRUE(out->meta["format"].find("palette") != std::string::npos) << out->meta["format"];
  EXPECT_LT(out->data.size(), original.size());
  Raster decoded;
  if (out->mime_type == "image/png") {
    auto d = DecodePng(out->data, ImageLimits{});
    ASSERT_TRUE(d.ok());
    decoded = d->raster;
  } else {
    auto c = Canvases(out->data);
    ASSERT_EQ(c.size(), 1u);
    decoded = c[0];
  }
  EXPECT_EQ(decoded.width, 200);
  EXPECT_LE(CountColours(decoded, 256), 8);  // 4 colours, and room for the shades of the scaled diagonal
  EXPECT_NEAR(Pixel(decoded, 52, 20)[0], 200, 8);  // flat red keeps its colour
  EXPECT_NEAR(Pixel(decoded, 52, 20)[1], 30, 8);
}

TEST(GifDistillerTest, HostileFilesAreRefusedWithAClearError) {
  const std::string good = TexturedAnimation(2);
  auto expect_refused = [](const std::string& bytes, const std::string& words) {
    auto out = Distill("gif", bytes, "image/gif");
    ASSERT_FALSE(out.ok()) << words;
    EXPECT_EQ(out.status().kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(out.status().message().find(words), std::string::npos) << out.status().message();
  };
  expect_refused(good.substr(0, good.size() / 2), "corrupt or truncated");
  expect_refused("GIF89a" + std::string(300, '\x5a'), "");  // a 23130 x 23130 screen
  expect_refused(std::string("GIF89a\x04\x00\x04\x00\x00\x00\x00", 13) + std::string(300, '\x5a'), "GIF");
  expect_refused("\x89PNG not a gif", "not a GIF");
  expect_refused("GIF89a", "GIF");
  // Bomb-shaped: a 65535 x 65535 logical screen in 40 bytes.
  std::string bomb = WriteGif(4, 4, {Fill(0, 0, 4, 4, kRed)});
  bomb[6] = bomb[7] = bomb[8] = bomb[9] = static_cast<char>(0xff);
  expect_refused(bomb, "max_megapixels");
  // A small screen, a frame declaring 65535 x 65535: refused before its pixels.
  std::string frame_bomb = WriteGif(4, 4, {Fill(0, 0, 4, 4, kRed)});
  const size_t desc = frame_bomb.find(',');  // the image descriptor
  ASSERT_NE(desc, std::string::npos);
  for (size_t i = 5; i < 9; ++i) frame_bomb[desc + i] = static_cast<char>(0xff);
  expect_refused(frame_bomb, "max_megapixels");
  // A large canvas with many tiny frames: few bytes, but every frame is a whole scaled
  // canvas to keep. 30 frames of 400 x 400, scaled to 200 x 200, against 0.5 megapixels.
  std::vector<TestFrame> dots(30, Fill(0, 0, 1, 1, kRed));
  auto many = Distill("gif", WriteGif(400, 400, dots), "image/gif", {}, {}, {{"max_megapixels", "0.5"}});
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("max_megapixels"), std::string::npos) << many.status().message();
  // No trailer after whole frames is fine (common on the web); no frames at all is not.
  const std::string whole = TexturedAnimation(1);
  auto untrailed = Distill("gif", whole.substr(0, whole.size() - 1), "image/gif");
  EXPECT_TRUE(untrailed.ok()) << untrailed.status().ToString();
  std::string empty = WriteGif(4, 4, {Fill(0, 0, 4, 4, kRed)});
  expect_refused(empty.substr(0, empty.find(',')) + ";", "without frames");
}

TEST(GifDistillerTest, TheTimeLimitStopsDecoding) {
  // Fifty 400x400 frames against a 1 ms budget.
  std::vector<TestFrame> fs(50, Fill(0, 0, 400, 400, kRed));
  auto out = Distill("gif", WriteGif(400, 400, fs), "image/gif", {}, {}, {{"max_decode_ms", "1"}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("max_decode_ms"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tacc::workers::image
