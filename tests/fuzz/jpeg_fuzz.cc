// libFuzzer target for the JPEG decoder entry (issue 8): DecodeJpeg on bytes from any
// origin, then what the jpeg worker does with the pixels (orientation, area resize).
//
// Checks: no crash, leak or sanitizer report (libjpeg's errors longjmp out of the
// decoder: every path must release what it holds); a refusal is an InvalidArgument; a
// decoded raster is well formed, 1 or 3 channels, and covers the size asked for (the
// DCT scale never undershoots the target).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "workers/image/jpeg_codec.h"
#include "workers/image/resample.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "jpeg_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tacc::workers::image;
  // Limits low enough that one input stays fast and small (the worker's are larger).
  ImageLimits limits;
  limits.max_input_bytes = 1 << 20;
  limits.max_pixels = 4'000'000;
  limits.max_scans = 64;
  limits.max_decode = std::chrono::milliseconds(2000);
  // The target varies with the input's length, so every DCT scale is exercised.
  const int divisor = 1 + static_cast<int>(size % 11);
  Size asked{}, upright_seen{};
  auto decoded = DecodeJpeg(std::string_view(reinterpret_cast<const char*>(data), size), limits, [&](Size upright) {
    upright_seen = upright;
    asked = Size{std::max(1, upright.width / divisor), std::max(1, upright.height / divisor)};
    return asked;
  });
  if (!decoded.ok()) {
    Check(decoded.status().kind() == tacc::ErrorKind::kInvalidArgument, "a refusal that is not InvalidArgument");
    return 0;
  }
  const Raster& r = decoded->raster;
  Check(r.channels == 1 || r.channels == 3, "a raster of neither 1 nor 3 channels");
  Check(r.width > 0 && r.height > 0, "an empty raster");
  Check(r.pixels.size() == static_cast<size_t>(r.height) * r.row_bytes(), "pixels do not match the raster's size");
  Check(decoded->orientation >= 1 && decoded->orientation <= 8, "an orientation outside 1..8");
  Raster upright = ApplyOrientation(decoded->raster, decoded->orientation);
  Check(upright.width >= asked.width && upright.height >= asked.height, "the DCT scale undershot the target");
  Raster small = ResizeArea(upright, asked.width, asked.height);
  Check(small.width == asked.width && small.height == asked.height &&
            small.pixels.size() == static_cast<size_t>(small.height) * small.row_bytes(),
        "the resize made the wrong size");
  return 0;
}
