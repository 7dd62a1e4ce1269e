// Pictures the image worker tests make (issue 8), beside image_test_util.h's (whose photo
// and worker runner these reuse): a raster of four
// flat coloured quadrants, JPEG files of them (optionally with an EXIF orientation), and
// the jpeg worker run on a file. Header-only, for the tests' own use.
#pragma once

#include <gtest/gtest.h>

#include <jpeglib.h>
#include <cstdio>
#include <cstdlib>

#include <array>
#include <cmath>
#include <map>
#include <string>

#include "image_test_util.h"
#include "sns/worker_registry.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/raster.h"

namespace tacc::workers::image::test {

using Pixel = std::array<uint8_t, 3>;

// Smooth gradients with some texture (image_test_util.h's photo).
inline Raster PhotoRaster(int w, int h) { return testing::Photo(w, h); }

// Four flat quadrants: top-left, top-right, bottom-left, bottom-right.
inline Raster Quadrants(int w, int h, Pixel tl, Pixel tr, Pixel bl, Pixel br) {
  Raster r;
  r.width = w;
  r.height = h;
  r.channels = 3;
  r.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const Pixel& c = y < h / 2 ? (x < w / 2 ? tl : tr) : (x < w / 2 ? bl : br);
      std::copy(c.begin(), c.end(), r.row(y) + static_cast<size_t>(x) * 3);
    }
  return r;
}

inline constexpr Pixel kRed{230, 20, 20}, kGreen{20, 200, 20}, kBlue{20, 20, 230}, kWhite{250, 250, 250};

// An EXIF APP1 segment (big-endian TIFF) holding only the orientation tag.
inline std::string ExifWithOrientation(int orientation) {
  std::string s("Exif\0\0", 6);
  s += std::string("MM\0\x2a\0\0\0\x08", 8);        // TIFF header, IFD0 at 8
  s += std::string("\0\x01", 2);                    // one entry
  s += std::string("\x01\x12\0\x03\0\0\0\x01", 8);  // tag 0x0112, SHORT, count 1
  s += std::string(1, '\0') + static_cast<char>(orientation) + std::string(2, '\0');
  s += std::string(4, '\0');  // no next IFD
  return s;
}

// An RGB JPEG of `r` at `quality`, with an EXIF orientation if not 1.
inline std::string JpegOf(const Raster& r, int quality = 90, int orientation = 1) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(r.width);
  c.image_height = static_cast<JDIMENSION>(r.height);
  c.input_components = r.channels;
  c.in_color_space = r.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  if (orientation != 1) {
    std::string app1 = ExifWithOrientation(orientation);
    jpeg_write_marker(&c, JPEG_APP0 + 1, reinterpret_cast<const JOCTET*>(app1.data()), static_cast<unsigned>(app1.size()));
  }
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(r.row(static_cast<int>(c.next_scanline)));
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

// The jpeg worker (made with `startup` args) run on `jpeg`.
inline Result<sns::TaskOutput> RunJpegWorker(const std::string& jpeg, std::map<std::string, std::string> args = {},
                                             std::map<std::string, std::string> profile = {},
                                             const std::map<std::string, std::string>& startup = {}) {
  return testing::Distill("jpeg", jpeg, "image/jpeg", std::move(args), std::move(profile), startup);
}

// Decodes a JPEG whole (no DCT scaling), as stored.
inline Raster DecodeWhole(const std::string& jpeg) {
  auto d = DecodeJpeg(jpeg, ImageLimits{}, [](Size s) { return s; });
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d->raster) : Raster{};
}

// The colour at (x, y) of an RGB raster.
inline Pixel At(const Raster& r, int x, int y) {
  const uint8_t* p = r.row(y) + static_cast<size_t>(x) * 3;
  return Pixel{p[0], p[1], p[2]};
}

// Whether `a` is within `tolerance` of `b` in every channel.
inline bool Near(Pixel a, Pixel b, int tolerance = 30) {
  for (int i = 0; i < 3; ++i)
    if (std::abs(int{a[static_cast<size_t>(i)]} - int{b[static_cast<size_t>(i)]}) > tolerance) return false;
  return true;
}

}  // namespace tacc::workers::image::test
