// AVIF encoding for the image distillers (issue 8), on libavif (Debian's 0.11 is built
// with libaom, rav1e and SVT-AV1 for encoding, dav1d for decoding). The AV1 encoder is
// chosen explicitly, never libavif's "auto": libaom by default (at speed 8 it runs
// in its real-time mode; see docs/design.md "WebP and AVIF output" for the measured
// costs of the three). AVIF is slow to encode: the speed is a worker start-up arg, and
// the encoder runs on the worker's one thread. Used through EncodeFor (output_format.h).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

enum class AvifCodec { kAom, kRav1e, kSvt };

// "aom", "rav1e", "svt" -> the codec; anything else: InvalidArgument. Also checks that
// this libavif can encode with it.
Result<AvifCodec> ParseAvifCodec(std::string_view name);

struct AvifEncodeOptions {
  int quantizer = 30;  // AV1's 0 (best) .. 63 (worst); see output_format.h for the mapping
  int speed = 8;       // libavif's 0 (slowest, smallest) .. 10 (fastest)
  AvifCodec codec = AvifCodec::kAom;
  std::string icc;  // embedded if not empty
};

// An 8-bit AVIF of `raster`: 4:2:0 for RGB, 4:0:0 (monochrome) for gray, full range,
// BT.601 matrix. InvalidArgument for a malformed raster; Internal if libavif fails.
Result<std::string> EncodeAvif(const Raster& raster, const AvifEncodeOptions& options);

}  // namespace tacc::workers::image
