// WebP encoding for the image distillers (issue 8), on libwebp's advanced encoding API
// (WebPConfig + WebPPicture: the simple WebPEncodeRGB cannot set the method) and
// libwebpmux to carry an ICC profile. Lossy only: the distillers send photos. Used
// through EncodeFor (output_format.h), which picks the format for a client.
#pragma once

#include <string>

#include "common/status.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

struct WebpEncodeOptions {
  int quality = 75;  // libwebp's 0..100 (see output_format.h for the mapping from JPEG's)
  int method = 4;    // libwebp's effort: 0 fastest .. 6 smallest
  std::string icc;   // embedded (ICCP chunk, VP8X container) if not empty
};

// A lossy WebP of `raster` (gray pixels are sent as RGB: WebP has no gray mode).
// InvalidArgument for a malformed raster or one over WebP's 16383-pixel side;
// Internal if libwebp fails.
Result<std::string> EncodeWebp(const Raster& raster, const WebpEncodeOptions& options);

}  // namespace tacc::workers::image
