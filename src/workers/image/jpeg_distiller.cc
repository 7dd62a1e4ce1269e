// The built-in "jpeg" worker: TranSend's JPEG distiller (paper §3.1.6, §4.3; issue 8).
//
// Scales a JPEG to the size the task asks for and re-encodes it at the asked quality:
// decoded at the smallest DCT scale (1/2, 1/4, 1/8 of a side) that still covers the
// target, then shrunk exactly by area averaging (low-pass filtered, no aliasing), turned
// upright by its EXIF orientation, made gray if asked. Progressive and CMYK files are
// read; an RGB or gray file's ICC profile is carried over (a CMYK file's cannot be: its
// pixels become RGB without colour management); the rest of the metadata is dropped.
//
// Never answers with more bytes than it was given: the original then goes back (meta
// distilled=no). A file that is corrupt, truncated, over a limit, or not a JPEG is an
// InvalidArgument (the service answers the original, marked approximate).
//
// The output is JPEG, WebP or AVIF by what the client accepts and asks (output_format.h;
// meta format=...). Refinement: crop=x,y,w,h cuts a region of the upright original
// (decoded at the DCT scale that still covers it at the target size); orig=1 answers
// the original untouched (meta distilled=no, reason refinement).
//
// Task args: w, h (a box), scale, max_width, q or quality, gray=1, grays, bpp, crop, zoom,
// orig (see distill_request.h; with grays or bpp the answer is a low-bit gray PNG when
// that is smaller, small_device.h); f or format, accept_avif, accept_webp
// (output_format.h); profile: quality, max_width, gray, grays, bpp, format.
// Start-up args (classes.<name>.args): scale (0.5), quality (25), max_input_mb (32),
// max_megapixels (50), max_scans (64), max_decode_ms (3000); avif (1), avif_speed (8),
// avif_codec (aom), webp_method (4) (output_format.h).
#include <fmt/format.h>

#include <cstdlib>

#include "sns/worker_registry.h"
#include "workers/image/distill_request.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/output_format.h"
#include "workers/image/resample.h"
#include "workers/image/small_device.h"

namespace tacc::workers::image {
namespace {

class JpegDistiller : public sns::WorkerFunction {
 public:
  JpegDistiller(DistillDefaults defaults, ImageLimits limits, OutputSettings output) : defaults_(defaults), limits_(limits), output_(output) {}

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    auto request = ParseDistillRequest(in.args, in.profile, defaults_);
    if (!request.ok()) return request.status();
    if (request->original) return Original(in);
    auto choice = ChooseOutput(in.args, in.profile, output_, request->quality);
    if (!choice.ok()) return choice.status();
    Size target, upright;
    Status crop_ok;
    auto decoded = DecodeJpeg(in.data, limits_, [&](Size size) {
      upright = size;
      crop_ok = ResolveRegion(size, *request);
      if (!crop_ok.ok()) return Size{1, 1};  // the cheapest decode, then refused
      target = TargetSize(size, *request);
      return DecodeSize(size, target, *request);
    });
    if (!decoded.ok()) return decoded.status();
    if (!crop_ok.ok()) return crop_ok;
    const bool source_gray = decoded->raster.channels == 1;
    Raster pixels = ApplyOrientation(std::move(decoded->raster), decoded->orientation);
    pixels = ResizeArea(CropRegion(std::move(pixels), upright, *request), target.width, target.height);
    if (request->gray) pixels = ToGray(std::move(pixels));
    // A gray picture can't keep an RGB profile; a gray source keeps its own.
    if (pixels.channels == 3 || source_gray) choice->icc = decoded->icc;
    auto encoded = EncodeFor(pixels, *choice);
    if (!encoded.ok()) return encoded.status();

    sns::TaskOutput out;
    out.mime_type = std::string(encoded->mime_type);
    out.meta["format"] = std::string(FormatName(encoded->format));
    out.meta["format_choice"] = encoded->fallback.empty() ? choice->why : choice->why + "; " + encoded->fallback;
    if (request->gray_levels() > 0) {  // grays, bpp: a low-bit PNG if smaller
      if (auto s = PreferGrayLevelsPng(pixels, *request, encoded->bytes, out.mime_type); !s.ok()) return s;
      if (out.mime_type == "image/png") out.meta["format"] = "png";
    }
    out.meta["source"] = fmt::format("{}x{}", decoded->source.width, decoded->source.height);
    if (encoded->bytes.size() >= in.data.size()) {
      out.data = in.data;
      out.mime_type = "image/jpeg";
      out.meta["format"] = "jpeg";
      out.meta["distilled"] = "no";
      out.meta["reason"] = fmt::format("the distilled picture ({} bytes) was not smaller", encoded->bytes.size());
      return out;
    }
    out.data = std::move(encoded->bytes);
    out.meta["distilled"] = "yes";
    out.meta["size"] = fmt::format("{}x{}", pixels.width, pixels.height);
    out.meta["quality"] = fmt::format("{}", request->quality);
    out.meta["dct_scale"] = fmt::format("1/{}", decoded->scale_denominator);
    if (request->crop) out.meta["crop"] = fmt::format("{},{},{},{}", request->crop->x, request->crop->y, request->crop->width, request->crop->height);
    return out;
  }

 private:
  // orig=1 (refinement's "original" link): the bytes as they came.
  static sns::TaskOutput Original(const sns::TaskInput& in) {
    sns::TaskOutput out;
    out.data = in.data;
    out.mime_type = in.mime_type.empty() ? "image/jpeg" : in.mime_type;
    out.meta["distilled"] = "no";
    out.meta["reason"] = "refinement";
    return out;
  }

  DistillDefaults defaults_;
  ImageLimits limits_;
  OutputSettings output_;
};

Result<sns::WorkerFunctionPtr> MakeJpegDistiller(const std::map<std::string, std::string>& args) {
  auto number = [&](const char* name, double dflt, double lo, double hi) -> Result<double> {
    auto it = args.find(name);
    if (it == args.end()) return dflt;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end || !(v >= lo && v <= hi))
      return Status::InvalidArgument(fmt::format("jpeg worker: {} must be a number within {}..{}, not '{}'", name, lo, hi, it->second));
    return v;
  };
  auto scale = number("scale", 0.5, 0.01, 1), quality = number("quality", 25, 1, 100), input = number("max_input_mb", 32, 0.001, 4096),
       mp = number("max_megapixels", 50, 0.001, 10000), scans = number("max_scans", 64, 1, 100000), ms = number("max_decode_ms", 3000, 1, 600000);
  for (const auto* r : {&scale, &quality, &input, &mp, &scans, &ms})
    if (!r->ok()) return r->status();
  auto output = ParseOutputSettings(args);
  if (!output.ok()) return Status::InvalidArgument("jpeg worker: " + output.status().message());
  DistillDefaults d;
  d.scale = *scale;
  d.quality = static_cast<int>(*quality);
  ImageLimits l;
  l.max_input_bytes = static_cast<size_t>(*input * 1024 * 1024);
  l.max_pixels = static_cast<uint64_t>(*mp * 1e6);
  l.max_scans = static_cast<int>(*scans);
  l.max_decode = std::chrono::milliseconds(static_cast<int64_t>(*ms));
  return sns::WorkerFunctionPtr(std::make_unique<JpegDistiller>(d, l, *output));
}

}  // namespace
}  // namespace tacc::workers::image

TACC_REGISTER_TYPED_WORKER(jpeg, "jpeg",
                           "JPEG distiller: scale (DCT-scaled decode, then area resize) and re-encode as JPEG, WebP or AVIF per Accept; "
                           "args w, h, scale, max_width, q, gray, grays, bpp, f, to, crop, zoom, orig; limits max_input_mb, max_megapixels, "
                           "max_scans, max_decode_ms; output avif, avif_speed, avif_codec, webp_method",
                           tacc::workers::image::MakeJpegDistiller, (std::vector<std::string>{"image/jpeg", "image/pjpeg"}),
                           (std::vector<std::string>{"image/jpeg", "image/webp", "image/avif"}));
