// Palette pictures for the image distillers' palette outputs (issue 8): PNG colour type 3
// and GIF. A picture with few colours (line art, icons, a small GIF) gets its exact
// palette; one with more is reduced by median cut (giflib's GifQuantizeBuffer, so no
// quantizer of our own), with alpha made binary (GIF has one transparent index; so does
// the reduced PNG, to stay simple).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

struct IndexedImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> indices;                  // width * height, row by row
  std::vector<std::array<uint8_t, 4>> palette;  // RGBA, 1..256 entries
  int transparent = -1;  // the index of the only entry with alpha (0), or -1; see Quantize
};

// `in` with every pixel either opaque (alpha >= 128) or fully transparent, as GIF needs.
Raster BinaryAlpha(Raster in);

// The number of distinct pixel values in `in` (any channel count), counted up to
// `limit` + 1: it stops as soon as it passes `limit`.
int CountColours(const Raster& in, int limit);

// `in` with its exact palette if it has at most `max_colours` (<= 256) distinct pixel
// values (alpha kept exactly, all fully transparent pixels one entry; `transparent` is set only if the one entry with alpha < 255
// is fully transparent); otherwise `max_colours` or fewer colours by median cut, alpha
// below 128 becoming one transparent entry and the rest opaque. InvalidArgument for an
// empty raster or max_colours outside 2..256; Internal if giflib's quantizer fails.
Result<IndexedImage> Quantize(const Raster& in, int max_colours);

}  // namespace tacc::workers::image
