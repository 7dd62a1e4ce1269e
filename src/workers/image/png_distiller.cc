// The built-in "png" worker: TranSend's PNG distiller (paper §3.1.6; issue 8).
//
// Decodes with libspng (limits checked before and during decoding, png_codec.h), scales
// to the size the task asks for by area averaging (premultiplied by alpha, so edges
// don't fringe), and re-encodes in the format that suits the picture:
//   * alpha (some pixel less than opaque) is kept: a palette PNG (with tRNS) if the
//     scaled picture has at most 256 colours, else an RGBA PNG;
//   * opaque pictures with at most 64 colours (line art, icons, flat screenshots) stay
//     PNG, with a palette (exact, or median cut when scaling added colours);
//   * opaque pictures with more than 256 (photos saved as PNG) become JPEG at the asked
//     quality: a lossless PNG of a photo is many times the size of a JPEG, for no
//     visible gain at a small size;
//   * in between (a gray photo has at most 256 colours; so has a dithered or
//     anti-aliased picture) both are made and the smaller goes out.
// `flatten=1` (arg or profile) composites alpha onto `background` (default white) first,
// so a picture with alpha can become JPEG too; grays / bpp give a small device's dithered
// low-bit gray PNG (small_device.h). The source's ICC profile is carried over.
//
// Never answers with more bytes than it was given: the original then goes back (meta
// distilled=no). A corrupt, truncated or over-limit file is an InvalidArgument (the
// service answers the original, marked approximate).
//
// Task args: w, h, scale, max_width, q or quality, gray, grays, bpp, background, flatten
// (distill_request.h); profile: quality, max_width, gray, grays, bpp, background, flatten.
// Start-up args (classes.<name>.args): scale (0.5), quality (25), max_input_mb (32),
// max_megapixels (50), max_decode_ms (3000).
#include <fmt/format.h>

#include "sns/worker_registry.h"
#include "workers/image/distill_request.h"
#include "workers/image/distiller_args.h"
#include "workers/image/gray_levels.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"
#include "workers/image/small_device.h"

namespace tacc::workers::image {
namespace {

// At most this many colours in the source: line art or an icon, kept as a palette PNG
// without trying JPEG.
constexpr int kFewColours = 64;

const std::vector<std::string> kTakes = {"image/png"};
const std::vector<std::string> kProduces = {"image/png", "image/jpeg", "image/webp", "image/avif"};

// A photo-like picture (opaque): JPEG, or WebP / AVIF where the client takes them
// (output_format.h; a planned step's to= decides among them too).
struct Photo {
  std::string bytes, mime, format;
};
Result<Photo> EncodePhoto(const Raster& pixels, const sns::TaskInput& in, int quality, const std::string& icc, const OutputSettings& output) {
  auto choice = ChooseOutput(in.args, in.profile, output, quality);
  if (!choice.ok()) return choice.status();
  choice->icc = icc;
  auto e = EncodeFor(pixels, *choice);
  if (!e.ok()) return e.status();
  return Photo{std::move(e->bytes), std::string(e->mime_type), std::string(FormatName(e->format))};
}

class PngDistiller : public sns::WorkerFunction {
 public:
  explicit PngDistiller(DistillerArgs args) : args_(args) {}

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    auto request = ParseDistillRequest(in.args, in.profile, args_.defaults);
    if (!request.ok()) return request.status();
    auto to = RequiredType(in.args, kProduces, "png");
    if (!to.ok()) return to.status();
    // A planned step told to make a photo type (JPEG, WebP, AVIF: ChooseOutput reads to=)
    // or PNG; the photo encoders take no alpha, so it is flattened.
    const bool must_photo = !to->empty() && *to != "image/png", must_png = *to == "image/png";
    if (must_photo) request->flatten = true;
    auto decoded = DecodePng(in.data, args_.limits);
    if (!decoded.ok()) return decoded.status();
    Raster pixels = std::move(decoded->raster);
    const bool source_colour = pixels.channels >= 3;
    const int source_colours = CountColours(pixels, 256);  // 257: more than 256
    if (request->flatten) pixels = Flatten(std::move(pixels), request->background);
    const Size target = TargetSize(decoded->source, *request);
    pixels = ResizeArea(pixels, target.width, target.height);
    if (request->gray) pixels = ToGray(std::move(pixels));

    PngEncodeOptions png;
    png.icc = decoded->icc;
    if (pixels.channels <= 2 && source_colour) png.icc.clear();  // made gray: an RGB profile no longer fits
    Result<std::string> encoded = std::string();
    std::string mime = "image/png", format;
    if (must_photo) {
      auto photo = EncodePhoto(pixels, in, request->quality, png.icc, args_.output);
      if (!photo.ok()) return photo.status();
      encoded = std::move(photo->bytes), mime = photo->mime, format = photo->format;
    } else if (request->gray_levels() > 0) {
      encoded = EncodeGrayLevelsPng(pixels, *request);
      format = fmt::format("png-gray-{}bit", GrayBitDepth(request->gray_levels()));
    } else if (pixels.has_alpha_channel() && CountColours(pixels, 256) > 256) {
      encoded = EncodePng(pixels, png);
      format = "png";
    } else if (pixels.has_alpha_channel() || source_colours <= 256) {
      auto indexed = Quantize(pixels, 256);  // exact when it fits, else median cut (opaque only)
      if (!indexed.ok()) return indexed.status();
      encoded = EncodePalettePng(*indexed, png);
      format = fmt::format("png-palette-{}", indexed->palette.size());
      if (encoded.ok() && !pixels.has_alpha_channel() && source_colours > kFewColours && !must_png) {
        // Between line art and photo (a gray photo, a dithered or anti-aliased picture):
        // the smaller of the two.
        auto photo = EncodePhoto(pixels, in, request->quality, png.icc, args_.output);
        if (!photo.ok()) return photo.status();
        if (photo->bytes.size() < encoded->size()) encoded = std::move(photo->bytes), mime = photo->mime, format = photo->format;
      }
    } else if (must_png) {
      encoded = EncodePng(pixels, png);
      format = "png";
    } else {
      auto photo = EncodePhoto(pixels, in, request->quality, png.icc, args_.output);
      if (!photo.ok()) return photo.status();
      encoded = std::move(photo->bytes), mime = photo->mime, format = photo->format;
    }
    if (!encoded.ok()) return encoded.status();

    sns::TaskOutput out;
    out.meta["source"] = fmt::format("{}x{}", decoded->source.width, decoded->source.height);
    if (encoded->size() >= in.data.size() && !must_photo) {
      out.data = in.data;
      out.mime_type = in.mime_type.empty() ? "image/png" : in.mime_type;
      out.meta["distilled"] = "no";
      out.meta["reason"] = fmt::format("the distilled picture ({}, {} bytes) was not smaller", format, encoded->size());
      return out;
    }
    out.data = std::move(*encoded);
    out.mime_type = mime;
    out.meta["distilled"] = "yes";
    out.meta["size"] = fmt::format("{}x{}", pixels.width, pixels.height);
    out.meta["format"] = format;
    if (mime != "image/png") out.meta["quality"] = fmt::format("{}", request->quality);
    return out;
  }

 private:
  DistillerArgs args_;
};

Result<sns::WorkerFunctionPtr> MakePngDistiller(const std::map<std::string, std::string>& args) {
  auto parsed = ParseDistillerArgs(args, "png");
  if (!parsed.ok()) return parsed.status();
  return sns::WorkerFunctionPtr(std::make_unique<PngDistiller>(*parsed));
}

}  // namespace
}  // namespace tacc::workers::image

TACC_REGISTER_TYPED_WORKER(png, "png",
                     "PNG distiller: scale (area resize, alpha premultiplied), keep alpha, palette PNG for <= 256 colours, JPEG for "
                     "opaque photos; args w, h, scale, max_width, q, gray, grays, bpp, background, flatten, to; limits max_input_mb, "
                     "max_megapixels, max_decode_ms",
                     tacc::workers::image::MakePngDistiller, tacc::workers::image::kTakes, tacc::workers::image::kProduces);
