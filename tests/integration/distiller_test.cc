// TranSend's distillers through real processes (issue 8): with `tacc up`'s default rules a
// JPEG from an origin comes back smaller, at half its size, from a `jpeg` worker; a
// truncated or bomb-shaped one comes back as it was, marked approximate, and the worker
// that refused it is still the same process. A client whose Accept names image/webp gets
// WebP (and one that does not, JPEG), each its own variant. PNGs and GIFs go to the `png`
// and `gif` workers the same way: a photo PNG comes back as JPEG, an animated GIF as a
// smaller animated GIF, a bomb-shaped GIF as it was.
#include <gtest/gtest.h>

#include <webp/decode.h>

#include "cluster_harness.h"
#include "test_origin.h"
#include "workers/image/gif_codec.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"

namespace tacc::testing {
namespace {

using workers::image::DecodeGif;
using workers::image::DecodeJpeg;
using workers::image::DecodePng;
using workers::image::EncodeGif;
using workers::image::EncodePng;
using workers::image::GifFrame;
using workers::image::GifOutputFrame;
using workers::image::PngEncodeOptions;
using workers::image::Quantize;
using workers::image::EncodeJpeg;
using workers::image::ImageLimits;
using workers::image::JpegEncodeOptions;
using workers::image::Raster;
using workers::image::Size;

Raster PhotoRaster(int w, int h) {
  Raster r;
  r.width = w;
  r.height = h;
  r.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = r.row(y) + static_cast<size_t>(x) * 3;
      p[0] = static_cast<uint8_t>(x * 255 / w);
      p[1] = static_cast<uint8_t>(y * 255 / h);
      p[2] = static_cast<uint8_t>((x * y) % 251);
    }
  return r;
}

std::string PhotoJpeg(int w, int h) {
  Raster r = PhotoRaster(w, h);
  JpegEncodeOptions o;
  o.quality = 80;
  return *EncodeJpeg(r, o);
}

// A GET through the proxy with an Accept field (HttpRequest sends none), answered with
// Content-Length.
HttpReply AcceptRequest(int port, const std::string& url, const std::string& accept) {
  HttpReply r;
  std::string raw = RawExchange("127.0.0.1", port,
                                "GET " + url + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: " + accept + "\r\nConnection: close\r\n\r\n", 20s);
  auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  size_t at = raw.find("\r\n") + 2;
  while (at < end) {
    size_t eol = raw.find("\r\n", at);
    std::string line = raw.substr(at, eol - at);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    at = eol + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

TEST(DistillerTest, JpegsAreDistilledAndBrokenOnesPassAsTheyCame) {
  const std::string photo = PhotoJpeg(640, 480);
  const std::string truncated = photo.substr(0, photo.size() / 3);
  std::string bomb = photo;
  for (size_t i = 0; i + 9 < bomb.size(); ++i)
    if (static_cast<uint8_t>(bomb[i]) == 0xFF && static_cast<uint8_t>(bomb[i + 1]) == 0xC0) {
      bomb[i + 5] = bomb[i + 7] = static_cast<char>(0xEA);  // 60000 x 60000 declared
      bomb[i + 6] = bomb[i + 8] = static_cast<char>(0x60);
      break;
    }
  TestOrigin origin([&](const TestOrigin::Request& r) {
    std::string t(r.target());
    if (t == "/photo.jpg") return OkAnswer(photo, "image/jpeg", "");
    if (t == "/truncated.jpg") return OkAnswer(truncated, "image/jpeg", "");
    return OkAnswer(bomb, "image/jpeg", "");
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "classes.jpeg.min_workers=1",
                                 "manager.spawn_policy=fixed"}});
  c.Start();
  auto up = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "jpeg") == 1; }, 20s);
  ASSERT_TRUE(up) << c.Log();
  pid_t worker = 0;
  for (const auto& w : up->workers())
    if (w.worker_class() == "jpeg") worker = static_cast<pid_t>(w.pid());
  const std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  auto small = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/photo.jpg");
  ASSERT_EQ(small.status, 200) << small.body;
  EXPECT_EQ(small.Header("X-Tacc-Chain"), "jpeg");
  // What the distillation took, for tools and the browser's developer tools.
  const std::string timing = small.Header("Server-Timing");
  ASSERT_TRUE(timing.starts_with("distill;dur=")) << timing;
  EXPECT_GT(std::stod(timing.substr(12)), 0.0) << timing;
  EXPECT_NE(timing.find("desc=\"jpeg\""), std::string::npos) << timing;
  EXPECT_EQ(small.Header("Content-Type"), "image/jpeg");
  EXPECT_LT(small.body.size() * 3, photo.size()) << "not much smaller: " << small.body.size() << " of " << photo.size();
  auto decoded = DecodeJpeg(small.body, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->source.width, 320);
  EXPECT_EQ(decoded->source.height, 240);

  for (const std::string path : {"/truncated.jpg", "/bomb.jpg"}) {
    auto r = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, path == "/truncated.jpg" ? truncated : bomb) << path << ": not the original bytes";
    EXPECT_EQ(r.Header("X-Tacc-Approximate"), "original") << path;
    EXPECT_NE(r.Header("X-Tacc-Approximate-Reason").find("jpeg"), std::string::npos) << r.Header("X-Tacc-Approximate-Reason");
  }
  EXPECT_TRUE(ProcessAlive(worker)) << "the worker died on a hostile file";
  auto again = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/photo.jpg");
  EXPECT_EQ(again.Header("X-Tacc-Chain"), "jpeg");

  // A browser that takes WebP gets WebP, one that takes AVIF too (Chrome's image Accept)
  // gets AVIF; a plain client asking after them still gets the JPEG: the variants differ
  // by the accept_* args, and the answer says it varies by Accept. Twice: the second
  // round may come from the cache, and must not mix the variants up.
  for (int round = 0; round < 2; ++round) {
    auto webp = AcceptRequest(c.FrontendPort(), base + "/photo.jpg", "image/webp,*/*");
    ASSERT_EQ(webp.status, 200) << webp.body.substr(0, 200);
    EXPECT_EQ(webp.Header("Content-Type"), "image/webp");
    EXPECT_EQ(webp.Header("X-Tacc-Chain"), "jpeg");
    EXPECT_NE(webp.Header("Vary").find("Accept"), std::string::npos) << webp.Header("Vary");
    int w = 0, h = 0;
    ASSERT_TRUE(WebPGetInfo(reinterpret_cast<const uint8_t*>(webp.body.data()), webp.body.size(), &w, &h)) << "not a WebP";
    EXPECT_EQ(w, 320);
    EXPECT_EQ(h, 240);
    EXPECT_LT(webp.body.size(), small.body.size()) << "WebP no smaller than the JPEG variant";
    auto avif = AcceptRequest(c.FrontendPort(), base + "/photo.jpg", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8");
    ASSERT_EQ(avif.status, 200);
    EXPECT_EQ(avif.Header("Content-Type"), "image/avif");
    EXPECT_EQ(avif.body.substr(4, 8), "ftypavif");
    auto plain = AcceptRequest(c.FrontendPort(), base + "/photo.jpg", "*/*");
    ASSERT_EQ(plain.status, 200);
    EXPECT_EQ(plain.Header("Content-Type"), "image/jpeg");
    EXPECT_EQ(plain.body.substr(0, 2), "\xFF\xD8");
  }
}

TEST(DistillerTest, PngsAndGifsGoToTheirOwnWorkers) {
  const std::string png = *EncodePng(PhotoRaster(320, 240), PngEncodeOptions{});
  std::vector<GifOutputFrame> frames;
  for (int k = 0; k < 3; ++k) {  // three frames, each a shifted photo dithered to a palette
    Raster r = PhotoRaster(160, 120);
    for (auto& v : r.pixels) v = static_cast<uint8_t>(v + 40 * k);
    auto q = Quantize(r, 256);
    frames.push_back({std::move(*q), 5});
  }
  const std::string gif = *EncodeGif(frames, 0);
  std::string bomb = gif;
  bomb[6] = bomb[7] = bomb[8] = bomb[9] = static_cast<char>(0xff);  // a 65535 x 65535 screen
  TestOrigin origin([&](const TestOrigin::Request& r) {
    std::string t(r.target());
    if (t == "/photo.png") return OkAnswer(png, "image/png", "");
    if (t == "/anim.gif") return OkAnswer(gif, "image/gif", "");
    return OkAnswer(bomb, "image/gif", "");
  });
  ClusterHarness c({.settings = {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "classes.png.min_workers=1",
                                 "classes.gif.min_workers=1", "manager.spawn_policy=fixed"}});
  c.Start();
  auto up = c.WaitFor([](const wire::Beacon& b) { return ClusterHarness::CountWorkers(b, "png") == 1 && ClusterHarness::CountWorkers(b, "gif") == 1; }, 20s);
  ASSERT_TRUE(up) << c.Log();
  pid_t gif_worker = 0;
  for (const auto& w : up->workers())
    if (w.worker_class() == "gif") gif_worker = static_cast<pid_t>(w.pid());
  const std::string base = "http://127.0.0.1:" + std::to_string(origin.port());

  auto p = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/photo.png");
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.Header("X-Tacc-Chain"), "png");
  EXPECT_EQ(p.Header("Content-Type"), "image/jpeg") << "a photo PNG becomes JPEG";
  EXPECT_LT(p.body.size() * 5, png.size());
  auto pj = DecodeJpeg(p.body, ImageLimits{}, [](Size s) { return s; });
  ASSERT_TRUE(pj.ok()) << pj.status().ToString();
  EXPECT_EQ(pj->source.width, 160);

  auto g = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/anim.gif");
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(g.Header("X-Tacc-Chain"), "gif");
  EXPECT_EQ(g.Header("Content-Type"), "image/gif");
  EXPECT_LT(g.body.size(), gif.size());
  int n = 0;
  auto gi = DecodeGif(g.body, ImageLimits{}, 100, [&](const GifFrame& f) {
    EXPECT_EQ(f.canvas->width, 80);
    ++n;
    return true;
  });
  ASSERT_TRUE(gi.ok()) << gi.status().ToString();
  EXPECT_EQ(n, 3) << "the animation kept its frames";

  auto b = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", base + "/bomb.gif");
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(b.body, bomb) << "not the original bytes";
  EXPECT_EQ(b.Header("X-Tacc-Approximate"), "original");
  EXPECT_NE(b.Header("X-Tacc-Approximate-Reason").find("gif"), std::string::npos) << b.Header("X-Tacc-Approximate-Reason");
  EXPECT_TRUE(ProcessAlive(gif_worker)) << "the worker died on a hostile file";
}

}  // namespace
}  // namespace tacc::testing
