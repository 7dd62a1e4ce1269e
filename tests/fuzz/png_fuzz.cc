// libFuzzer target for the PNG decoder (issue 8): the bytes any origin can send the png
// worker.
//
// The input is decoded under small limits (so the fuzzer explores parsing, not big
// allocations). Checks: no crash or sanitizer report; a decoded raster is as large as it
// says and within the limit; it survives what the worker does next (a premultiplied
// resize, a palette, a PNG re-encode) and the re-encoded PNG decodes to the same size.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "png_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tacc::workers::image;
  ImageLimits limits;
  limits.max_input_bytes = 1 << 20;
  limits.max_pixels = 1 << 20;
  limits.max_decode = std::chrono::milliseconds(2000);
  auto d = DecodePng(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!d.ok()) {
    Check(d.status().kind() == tacc::ErrorKind::kInvalidArgument, "a decoding failure is not InvalidArgument");
    return 0;
  }
  const Raster& r = d->raster;
  Check(r.width > 0 && r.height > 0 && r.channels >= 1 && r.channels <= 4, "odd raster");
  Check(static_cast<uint64_t>(r.width) * static_cast<uint64_t>(r.height) <= limits.max_pixels, "raster over the pixel limit");
  Check(r.pixels.size() == static_cast<size_t>(r.height) * r.row_bytes(), "raster size");
  Check(r.width == d->source.width && r.height == d->source.height, "raster is not the declared size");

  Raster small = ResizeArea(r, (r.width + 1) / 2, (r.height + 1) / 2);
  auto indexed = Quantize(small, 256);
  Check(indexed.ok(), "quantizing a decoded raster failed");
  auto png = EncodePalettePng(*indexed, PngEncodeOptions{});
  Check(png.ok(), "encoding a palette PNG failed");
  auto again = DecodePng(*png, limits);
  Check(again.ok(), "a PNG we wrote does not decode");
  Check(again->source.width == small.width && again->source.height == small.height, "re-encoded size differs");
  return 0;
}
