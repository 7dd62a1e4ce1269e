// Raster: decoded pixels as the image workers pass them between decoding, resizing and
// encoding (issue 8). Rows of width * channels bytes, top to bottom, no padding;
// channels 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), 8 bits each. Alpha is
// straight (not premultiplied) and always the last channel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tacc::workers::image {

struct Size {
  int width = 0;
  int height = 0;
};

struct Raster {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;

  size_t row_bytes() const { return static_cast<size_t>(width) * static_cast<size_t>(channels); }
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  bool has_alpha_channel() const { return channels == 2 || channels == 4; }
};

}  // namespace tacc::workers::image
