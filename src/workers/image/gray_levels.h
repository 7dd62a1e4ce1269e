// Gray levels for small devices (the paper's PDA case, issue 8): a gray picture reduced
// to N evenly spaced levels with Floyd-Steinberg error diffusion (dithering keeps the
// local mean brightness, so 2 or 4 levels still read as a picture), at the smallest PNG
// bit depth (1, 2, 4, 8) that stores the levels exactly.
#pragma once

#include "workers/image/raster.h"

namespace tacc::workers::image {

// The PNG gray bit depth that holds `levels` (2..256) levels: 1, 2, 4 or 8.
int GrayBitDepth(int levels);

// `gray` (1 channel) with every pixel one of `levels` (2..256) values evenly spaced
// over 0..255 as a PNG of GrayBitDepth(levels) bits stores them, the rounding error
// diffused to the neighbours (serpentine Floyd-Steinberg). Other rasters are returned
// as they came.
Raster DitherGray(const Raster& gray, int levels);

}  // namespace tacc::workers::image
