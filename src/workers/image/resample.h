// Resampling and pixel operations the image distillers share (issue 8): a downscale
// that low-pass filters as it subsamples (each output pixel is the area-weighted mean of
// the input pixels it covers, so nothing aliases: the paper's distiller filtered before
// subsampling), EXIF orientation, cropping, grayscale.
#pragma once

#include "workers/image/raster.h"

namespace tacc::workers::image {

// `in` scaled to width x height (each at least 1). Downscaling averages the covered
// area; upscaling (not used by the distillers, which never enlarge) repeats pixels.
Raster ResizeArea(const Raster& in, int width, int height);

// `in` turned upright for an EXIF orientation 1..8 (others: unchanged).
Raster ApplyOrientation(Raster in, int orientation);

// The width x height rectangle of `in` at (x, y), clamped to `in` (at least 1x1).
Raster Crop(const Raster& in, int x, int y, int width, int height);

// One channel of luma (Rec. 601 weights) from an RGB raster; a gray one is returned as is.
Raster ToGray(Raster in);

}  // namespace tacc::workers::image
