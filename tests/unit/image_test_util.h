// Pictures the image distiller tests make (issue 8) and a way to run a registered image
// worker on them: photo-like (smooth gradients with texture, thousands of colours), line
// art (a few flat colours), and a disc on a transparent background (alpha edges).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "sns/worker_registry.h"
#include "workers/image/raster.h"

namespace tacc::workers::image::testing {

inline Raster Blank(int w, int h, int channels) {
  Raster r;
  r.width = w;
  r.height = h;
  r.channels = channels;
  r.pixels.assign(static_cast<size_t>(w) * static_cast<size_t>(h) * static_cast<size_t>(channels), 0);
  return r;
}

inline uint8_t* Pixel(Raster& r, int x, int y) { return r.row(y) + static_cast<size_t>(x) * static_cast<size_t>(r.channels); }
inline const uint8_t* Pixel(const Raster& r, int x, int y) { return r.row(y) + static_cast<size_t>(x) * static_cast<size_t>(r.channels); }

// Smooth gradients with some texture: a photo as far as encoders can tell.
inline Raster Photo(int w, int h) {
  Raster r = Blank(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = Pixel(r, x, y);
      p[0] = static_cast<uint8_t>(255 * x / std::max(1, w - 1));
      p[1] = static_cast<uint8_t>(255 * y / std::max(1, h - 1));
      p[2] = static_cast<uint8_t>(128 + 100 * std::sin(x * 0.3) * std::cos(y * 0.2));
    }
  return r;
}

// Line art: four flat colours in bands and a diagonal line.
inline Raster LineArt(int w, int h) {
  static constexpr uint8_t kColours[4][3] = {{255, 255, 255}, {0, 0, 0}, {200, 30, 30}, {30, 30, 200}};
  Raster r = Blank(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int c = (x / 16 + y / 16) % 3 == 0 ? 0 : (y < h / 2 ? 2 : 3);
      if (std::abs(x - y) < 2) c = 1;
      std::copy_n(kColours[c], 3, Pixel(r, x, y));
    }
  return r;
}

// An opaque white disc on a fully transparent background whose hidden colour is black
// (what an unpremultiplied resize would bleed into the edges).
inline Raster Disc(int size) {
  Raster r = Blank(size, size, 4);
  const double c = (size - 1) / 2.0, radius = size * 0.4;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      if (std::hypot(x - c, y - c) < radius) std::fill_n(Pixel(r, x, y), 4, uint8_t{255});
  return r;
}

inline sns::WorkerFunctionPtr Worker(const std::string& name, const std::map<std::string, std::string>& startup = {}) {
  auto* e = sns::FindWorkerImpl(name);
  EXPECT_NE(e, nullptr) << name;
  if (!e) return nullptr;
  auto fn = e->factory(startup);
  EXPECT_TRUE(fn.ok()) << fn.status().ToString();
  return fn.ok() ? std::move(*fn) : nullptr;
}

inline Result<sns::TaskOutput> Distill(const std::string& worker, const std::string& data, const std::string& mime,
                                       std::map<std::string, std::string> args = {}, std::map<std::string, std::string> profile = {},
                                       const std::map<std::string, std::string>& startup = {}) {
  auto w = Worker(worker, startup);
  if (!w) return Status::NotFound(worker);
  sns::TaskInput in;
  in.data = data;
  in.mime_type = mime;
  in.args = std::move(args);
  in.profile = std::move(profile);
  return w->Process(in);
}

// The mean of a gray raster's samples (or of the first channel).
inline double Mean(const Raster& r) {
  double sum = 0;
  const size_t n = static_cast<size_t>(r.width) * static_cast<size_t>(r.height);
  for (size_t i = 0; i < n; ++i) sum += r.pixels[i * static_cast<size_t>(r.channels)];
  return n ? sum / static_cast<double>(n) : 0;
}

// A PNG's IHDR fields, read from the bytes.
struct PngHeader {
  int width = 0, height = 0, bit_depth = 0, colour_type = -1;
};
inline PngHeader ReadPngHeader(const std::string& png) {
  PngHeader h;
  if (png.size() < 33) return h;
  auto u32 = [&](size_t at) {
    return static_cast<int>(static_cast<uint32_t>(static_cast<uint8_t>(png[at])) << 24 | static_cast<uint32_t>(static_cast<uint8_t>(png[at + 1])) << 16 |
                            static_cast<uint32_t>(static_cast<uint8_t>(png[at + 2])) << 8 | static_cast<uint8_t>(png[at + 3]));
  };
  h.width = u32(16);
  h.height = u32(20);
  h.bit_depth = static_cast<uint8_t>(png[24]);
  h.colour_type = static_cast<uint8_t>(png[25]);
  return h;
}

}  // namespace tacc::workers::image::testing
