// Start-up args shared by the png and gif distillers (classes.<name>.args; issue 8):
// scale (0.5), quality (25), max_input_mb (32), max_megapixels (50), max_decode_ms
// (3000), and the output settings (avif, avif_speed, avif_codec, webp_method), as the
// jpeg worker reads them, and a worker's own whole-number extras (the gif
// worker's max_frames). Validated once, by the worker's factory: a bad value stops the
// worker from starting, with a message naming the arg.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "workers/image/distill_request.h"
#include "workers/image/image_limits.h"
#include "workers/image/output_format.h"

namespace tacc::workers::image {

struct DistillerArgs {
  DistillDefaults defaults;
  ImageLimits limits;
  OutputSettings output;  // avif, avif_speed, avif_codec, webp_method: photos go out as the jpeg worker's do
};

Result<DistillerArgs> ParseDistillerArgs(const std::map<std::string, std::string>& args, const char* worker);

// A start-up arg as a number within [lo, hi]; `dflt` if absent. InvalidArgument naming
// the worker and the arg otherwise.
Result<double> StartupNumber(const std::map<std::string, std::string>& args, const char* worker, const char* name, double dflt, double lo, double hi);

}  // namespace tacc::workers::image
