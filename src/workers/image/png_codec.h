// PNG decoding and encoding for the distillers (issue 8), on libspng: a small, fuzzed
// decoder that checks the declared size against limits before it allocates anything,
// bounds the memory of ancillary chunks, and decodes row by row (so a decode-time limit
// can be checked between rows).
//
// Decoding checks, before any pixel is decoded: the input's bytes, the PNG signature,
// the IHDR's declared width x height against ImageLimits::max_pixels; while decoding:
// chunk sizes and count, CRCs, and max_decode. Every failure (corrupt, truncated, over a
// limit) is an InvalidArgument naming it: a distiller then passes the file on untouched.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "workers/image/image_limits.h"
#include "workers/image/palette.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

struct DecodedPng {
  // 8 bits per channel; gray if every pixel is (R = G = B), alpha only if some pixel
  // is less than opaque (tRNS applied). 16-bit files are reduced to 8 bits.
  Raster raster;
  Size source;
  int colour_type = 0;  // as the IHDR declares it (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA)
  int bit_depth = 8;
  bool interlaced = false;
  std::string icc;  // the iCCP profile, to carry over
};

Result<DecodedPng> DecodePng(std::string_view bytes, const ImageLimits& limits);

struct PngEncodeOptions {
  // For a 1-channel raster: 1, 2, 4 or 8 bits per sample. Below 8, each value is
  // stored as round(value * (2^depth - 1) / 255): the raster should already hold only
  // the 2^depth levels (gray_levels.h makes such rasters).
  int gray_bit_depth = 8;
  std::string icc;  // embedded (iCCP) if not empty
};

// A truecolour or gray PNG (with alpha if the raster has it).
Result<std::string> EncodePng(const Raster& raster, const PngEncodeOptions& options);

// A palette PNG (colour type 3) at the smallest bit depth that holds the palette, with
// tRNS for entries that are not opaque.
Result<std::string> EncodePalettePng(const IndexedImage& image, const PngEncodeOptions& options);

}  // namespace tacc::workers::image
