// Resampling and pixel operations the image distillers share (issue 8): a downscale
// that low-pass filters as it subsamples (each output pixel is the area-weighted mean of
// the input pixels it covers, so nothing aliases: the paper's distiller filtered before
// subsampling; with alpha, colours are premultiplied while averaged so transparent
// pixels don't bleed into edges), EXIF orientation, cropping, grayscale, flattening alpha.
#pragma once

#include "workers/image/raster.h"

namespace tacc::workers::image {

// `in` scaled to width x height (each at least 1). Downscaling averages the covered
// area (premultiplied by alpha for 2- and 4-channel rasters); upscaling (not used by
// the distillers, which never enlarge) repeats pixels.
Raster ResizeArea(const Raster& in, int width, int height);

// `in` turned upright for an EXIF orientation 1..8 (others: unchanged).
Raster ApplyOrientation(Raster in, int orientation);

// The width x height rectangle of `in` at (x, y), clamped to `in` (at least 1x1).
Raster Crop(const Raster& in, int x, int y, int width, int height);

// Luma (Rec. 601 weights) from an RGB raster (RGBA: gray + alpha); a gray one is
// returned as is.
Raster ToGray(Raster in);

struct Rgb {
  uint8_t r = 255, g = 255, b = 255;
};

// Whether any pixel is less than opaque (false for rasters without alpha).
bool HasTransparency(const Raster& in);

// `in` composited over an opaque `background` (alpha dropped; gray + alpha stays gray on
// a gray background, else becomes RGB); a raster without alpha is returned as is.
Raster Flatten(Raster in, Rgb background);

// The alpha channel removed, for a raster whose pixels are all opaque.
Raster DropAlpha(Raster in);

}  // namespace tacc::workers::image
