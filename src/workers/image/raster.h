// Raster: decoded pixels as the image workers pass them between decoding, resizing and
// encoding (issue 8). Rows of width * channels bytes, top to bottom, no padding;
// channels 1 (gray) or 3 (RGB), 8 bits each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tacc::workers::image {

struct Raster {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;

  size_t row_bytes() const { return static_cast<size_t>(width) * static_cast<size_t>(channels); }
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
};

}  // namespace tacc::workers::image
