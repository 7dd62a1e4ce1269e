// ImageLimits: what an image worker checks before and while decoding a file from any
// origin (issue 8, "hostile images"): its bytes, its declared width x height (a
// decompression bomb declares a huge canvas in a few bytes), its scans or frames, and
// the time decoding may take. A file over a limit is refused, never partly decoded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tacc::workers::image {

struct ImageLimits {
  size_t max_input_bytes = size_t{32} << 20;
  uint64_t max_pixels = 50'000'000;          // declared width x height
  int max_scans = 64;                         // progressive JPEG scans (libjpeg-turbo's advice for untrusted input)
  std::chrono::milliseconds max_decode{3000};  // decoding time
};

}  // namespace tacc::workers::image
