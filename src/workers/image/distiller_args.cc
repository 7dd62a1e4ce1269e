#include "workers/image/distiller_args.h"

#include <fmt/format.h>

#include <cstdlib>

namespace tacc::workers::image {

Result<double> StartupNumber(const std::map<std::string, std::string>& args, const char* worker, const char* name, double dflt, double lo, double hi) {
  auto it = args.find(name);
  if (it == args.end()) return dflt;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end || !(v >= lo && v <= hi))
    return Status::InvalidArgument(fmt::format("{} worker: {} must be a number within {}..{}, not '{}'", worker, name, lo, hi, it->second));
  return v;
}

Result<DistillerArgs> ParseDistillerArgs(const std::map<std::string, std::string>& args, const char* worker) {
  auto scale = StartupNumber(args, worker, "scale", 0.5, 0.01, 1), quality = StartupNumber(args, worker, "quality", 25, 1, 100),
       input = StartupNumber(args, worker, "max_input_mb", 32, 0.001, 4096), mp = StartupNumber(args, worker, "max_megapixels", 50, 0.001, 10000),
       ms = StartupNumber(args, worker, "max_decode_ms", 3000, 1, 600000);
  for (const auto* r : {&scale, &quality, &input, &mp, &ms})
    if (!r->ok()) return r->status();
  DistillerArgs a;
  a.defaults.scale = *scale;
  a.defaults.quality = static_cast<int>(*quality);
  a.limits.max_input_bytes = static_cast<size_t>(*input * 1024 * 1024);
  a.limits.max_pixels = static_cast<uint64_t>(*mp * 1e6);
  a.limits.max_decode = std::chrono::milliseconds(static_cast<int64_t>(*ms));
  auto output = ParseOutputSettings(args);
  if (!output.ok()) return output.status();
  a.output = *output;
  return a;
}

}  // namespace tacc::workers::image
