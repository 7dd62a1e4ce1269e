// The built-in "gif" worker: TranSend's GIF distiller (paper §3.1.6, §4.3; issue 8).
//
// Decodes with giflib (limits before and during decoding, gif_codec.h), composites each
// frame onto a full canvas (transparency and disposal applied), scales the canvases by
// area averaging (premultiplied by alpha), and re-encodes:
//   * a still picture keeps a palette: the scaled picture reduced to about twice the
//     source's colours (median cut; scaling adds in-between shades), written both as
//     GIF and as palette PNG; unless it has few colours (at most 64 in the source: line
//     art, icons) or transparency, it is also made a JPEG at the asked quality (the
//     paper's GIF-to-JPEG for photos: a photo dithered to 256 colours is much smaller
//     as JPEG, and smooth again). The smallest of these goes out;
//   * an animation stays an animated GIF: every frame a whole scaled canvas with its
//     own palette, disposed to transparent before the next, delays and loop count kept;
//   * an animation with more frames than max_frames passes untouched (distilled=no):
//     cutting it to its first frame would change what the page shows (a spinner, a
//     ticker), and the cap stops decoding at the first frame past it, so it costs little.
// `flatten=1` composites transparency onto `background` first; grays / bpp give a small
// device's dithered low-bit gray PNG of the first frame (a PDA shows no animation;
// small_device.h).
//
// Never answers with more bytes than it was given (the original then goes back,
// distilled=no). A corrupt, truncated or over-limit file is an InvalidArgument (the
// service answers the original, marked approximate).
//
// Task args: w, h, scale, max_width, q or quality, gray, grays, bpp, background, flatten
// (distill_request.h); profile: the same keys but w, h, scale.
// Start-up args (classes.<name>.args): scale (0.5), quality (25), max_input_mb (32),
// max_megapixels (50: the canvas, each frame, and all scaled frames together),
// max_decode_ms (3000),
// max_frames (100).
#include <fmt/format.h>

#include "sns/worker_registry.h"
#include "workers/image/distill_request.h"
#include "workers/image/distiller_args.h"
#include "workers/image/gif_codec.h"
#include "workers/image/gray_levels.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/palette.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"
#include "workers/image/small_device.h"

namespace tacc::workers::image {
namespace {

// At most this many colours in a still GIF: line art or an icon, kept as a palette
// without trying JPEG.
constexpr int kFewColours = 64;

struct ScaledFrame {
  Raster pixels;
  int delay_cs = 0;
};

// Colours for the scaled version of a picture with `source` colours: room for the
// in-between shades scaling makes, a power of two (GIF and PNG palettes store 1, 2, 4
// or 8 bits a pixel).
int PaletteBudget(int source) {
  int n = 4;
  while (n < 256 && n < 2 * source) n *= 2;
  return n;
}

const std::vector<std::string> kTakes = {"image/gif"};
const std::vector<std::string> kProduces = {"image/gif", "image/png", "image/jpeg", "image/webp", "image/avif"};

// A still photo: JPEG, or WebP / AVIF where the client takes them (output_format.h).
struct Photo {
  std::string bytes, mime, format;
};

class GifDistiller : public sns::WorkerFunction {
 public:
  GifDistiller(DistillerArgs args, int max_frames) : args_(args), max_frames_(max_frames) {}

  Result<Photo> EncodePhoto(const Raster& pixels, const sns::TaskInput& in, const DistillRequest& request) const {
    auto choice = ChooseOutput(in.args, in.profile, args_.output, request.quality);
    if (!choice.ok()) return choice.status();
    auto e = EncodeFor(pixels, *choice);
    if (!e.ok()) return e.status();
    return Photo{std::move(e->bytes), std::string(e->mime_type), std::string(FormatName(e->format))};
  }

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    auto request = ParseDistillRequest(in.args, in.profile, args_.defaults);
    if (!request.ok()) return request.status();
    auto to = RequiredType(in.args, kProduces, "gif");
    if (!to.ok()) return to.status();
    // A planned step that must make a still type gets the first frame (as a small device).
    const bool must_still = !to->empty() && *to != "image/gif";
    if (must_still && *to != "image/png") request->flatten = true;  // the photo encoders take no alpha
    const bool small_device = request->gray_levels() > 0;
    std::vector<ScaledFrame> frames;
    Size target;
    int source_colours = 0;
    uint64_t kept_pixels = 0;  // of the scaled frames held for re-encoding
    bool too_large = false;
    auto info = DecodeGif(in.data, args_.limits, max_frames_, [&](const GifFrame& f) {
      if (f.index == 0) {
        target = TargetSize(Size{f.canvas->width, f.canvas->height}, *request);
        source_colours = CountColours(*f.canvas, 256);
      }
      // A huge canvas with many one-pixel frames is a few bytes: the scaled frames kept
      // count against max_megapixels too.
      kept_pixels += static_cast<uint64_t>(target.width) * static_cast<uint64_t>(target.height);
      if (kept_pixels > args_.limits.max_pixels) {
        too_large = true;
        return false;
      }
      Raster r = request->flatten ? Flatten(*f.canvas, request->background) : *f.canvas;
      r = ResizeArea(r, target.width, target.height);
      if (request->gray) r = ToGray(std::move(r));
      frames.push_back({std::move(r), f.delay_cs});
      return !small_device && !must_still;  // a small device gets the first frame
    });
    if (!info.ok()) return info.status();
    if (too_large)
      return Status::InvalidArgument(fmt::format("{} frames of {}x{}: over the image limit of {} pixels (max_megapixels)", info->frames, target.width,
                                                 target.height, args_.limits.max_pixels));

    sns::TaskOutput out;
    out.meta["source"] = fmt::format("{}x{}", info->canvas.width, info->canvas.height);
    if (info->over_frame_cap) {
      out.data = in.data;
      out.mime_type = "image/gif";
      out.meta["distilled"] = "no";
      out.meta["reason"] = fmt::format("more than {} frames (max_frames)", max_frames_);
      return out;
    }
    Result<std::string> encoded = std::string();
    std::string mime = "image/png", format;
    if (must_still && *to != "image/png") {  // JPEG, WebP or AVIF
      auto photo = EncodePhoto(DropAlpha(std::move(frames[0].pixels)), in, *request);
      if (!photo.ok()) return photo.status();
      encoded = std::move(photo->bytes), mime = photo->mime, format = photo->format;
    } else if (small_device) {
      encoded = EncodeGrayLevelsPng(frames[0].pixels, *request);
      format = fmt::format("png-gray-{}bit", GrayBitDepth(request->gray_levels()));
    } else if (frames.size() > 1) {
      std::vector<GifOutputFrame> out_frames;
      for (auto& f : frames) {
        auto indexed = Quantize(BinaryAlpha(std::move(f.pixels)), 256);
        if (!indexed.ok()) return indexed.status();
        out_frames.push_back({std::move(*indexed), f.delay_cs});
      }
      encoded = EncodeGif(out_frames, info->loop_count);
      mime = "image/gif";
      format = fmt::format("gif-{}-frames", out_frames.size());
    } else {
      // A still picture: palette as GIF and as PNG; JPEG too unless it has few colours
      // or transparency. The smallest goes out.
      const bool try_jpeg = to->empty() && source_colours > kFewColours && !HasTransparency(frames[0].pixels);
      Result<Photo> photo = Photo{};
      if (try_jpeg) {
        photo = EncodePhoto(DropAlpha(frames[0].pixels), in, *request);
        if (!photo.ok()) return photo.status();
      }
      auto indexed = Quantize(BinaryAlpha(std::move(frames[0].pixels)), PaletteBudget(source_colours));
      if (!indexed.ok()) return indexed.status();
      auto png = EncodePalettePng(*indexed, PngEncodeOptions{});
      if (!png.ok()) return png.status();
      const size_t colours = indexed->palette.size();
      encoded = EncodeGif({GifOutputFrame{std::move(*indexed), 0}}, -1);
      if (!encoded.ok()) return encoded.status();
      mime = "image/gif";
      format = fmt::format("gif-palette-{}", colours);
      if ((png->size() < encoded->size() && *to != "image/gif") || *to == "image/png") {
        encoded = std::move(*png);
        mime = "image/png";
        format = fmt::format("png-palette-{}", colours);
      }
      if (try_jpeg && photo->bytes.size() < encoded->size()) encoded = std::move(photo->bytes), mime = photo->mime, format = photo->format;
    }
    if (!encoded.ok()) return encoded.status();

    if (encoded->size() >= in.data.size() && !must_still) {
      out.data = in.data;
      out.mime_type = "image/gif";
      out.meta["distilled"] = "no";
      out.meta["reason"] = fmt::format("the distilled picture ({}, {} bytes) was not smaller", format, encoded->size());
      return out;
    }
    out.data = std::move(*encoded);
    out.mime_type = mime;
    out.meta["distilled"] = "yes";
    out.meta["size"] = fmt::format("{}x{}", target.width, target.height);
    out.meta["format"] = format;
    out.meta["frames"] = fmt::format("{}", info->frames);
    if (mime != "image/png" && mime != "image/gif") out.meta["quality"] = fmt::format("{}", request->quality);
    return out;
  }

 private:
  DistillerArgs args_;
  int max_frames_;
};

Result<sns::WorkerFunctionPtr> MakeGifDistiller(const std::map<std::string, std::string>& args) {
  auto parsed = ParseDistillerArgs(args, "gif");
  if (!parsed.ok()) return parsed.status();
  auto frames = StartupNumber(args, "gif", "max_frames", 100, 1, 100000);
  if (!frames.ok()) return frames.status();
  return sns::WorkerFunctionPtr(std::make_unique<GifDistiller>(*parsed, static_cast<int>(*frames)));
}

}  // namespace
}  // namespace tacc::workers::image

TACC_REGISTER_TYPED_WORKER(gif, "gif",
                     "GIF distiller: scale (frames composited, area resize); still photos to JPEG, line art to palette GIF or PNG "
                     "(the smaller), animations kept animated up to max_frames (over it: passed untouched); args w, h, scale, "
                     "max_width, q, gray, grays, bpp, background, flatten, to; limits max_input_mb, max_megapixels, max_decode_ms, "
                     "max_frames",
                     tacc::workers::image::MakeGifDistiller, tacc::workers::image::kTakes, tacc::workers::image::kProduces);
