// JPEG decoding and encoding for the distillers (issue 8), on libjpeg-turbo's libjpeg
// API: it gives decoding at a reduced DCT scale (1/2, 1/4, 1/8 of each side, for a
// fraction of the work of a full decode), scan-by-scan progress (to stop hostile
// progressive files), and the APP markers (EXIF orientation, ICC profile).
//
// Every libjpeg error, and every warning (a truncated or corrupt file decodes to grey
// filler with only a warning), is an InvalidArgument naming what was wrong: a distiller
// passes such a file on untouched rather than serve a broken picture.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "workers/image/image_limits.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

struct DecodedJpeg {
  Raster raster;            // RGB or gray, as stored (not yet turned upright), at the DCT scale
  Size source;              // as the file declares it (not turned)
  int scale_denominator = 1;
  int orientation = 1;      // EXIF 1..8
  bool cmyk = false;        // converted to RGB (without colour management; its profile is dropped)
  bool progressive = false;
  std::string icc;          // the ICC profile of an RGB or gray file, to carry over
};

// Decodes `bytes`. `target` gets the upright size (orientation applied) and answers the
// size the caller will resize to; the decoder picks the smallest DCT scale whose output
// still covers it, so the final resize always shrinks.
Result<DecodedJpeg> DecodeJpeg(std::string_view bytes, const ImageLimits& limits, const std::function<Size(Size upright)>& target);

struct JpegEncodeOptions {
  int quality = 75;          // 1..100
  bool progressive = false;
  bool optimize_coding = false;
  std::string icc;           // embedded if not empty
};

Result<std::string> EncodeJpeg(const Raster& raster, const JpegEncodeOptions& options);

}  // namespace tacc::workers::image
