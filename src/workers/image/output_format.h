// Output format for the image distillers (issue 8): JPEG, WebP or AVIF, chosen per
// request from what the client accepts, what the user asked for, and what the worker
// class allows; then encoded, falling back to JPEG when the chosen format does no better.
// Any image worker uses it in two calls: ChooseOutput, then EncodeFor.
//
// The choice (ChooseOutput). The requested format is the task arg `f` (the URL API's
// f: auto|jpeg|webp|avif|png|gif, checked by the service), else the task arg `format`
// (a dispatch rule's), else the task arg `to` (a planned chain's step: image/jpeg,
// image/webp or image/avif; src/tacc/chain_planner.h), else the profile key `format`
// (auto|jpeg|webp|avif, the preferences page), else auto. The client's Accept arrives as the task args
// accept_avif=1 / accept_webp=1 (services/transend/client_hints.h). A format the client
// did not accept is never sent:
//
//   requested | client accepts           | sent
//   auto      | avif (and avif enabled)  | AVIF
//   auto      | webp (and not the above) | WebP
//   auto      | neither                  | JPEG
//   avif      | avif, avif enabled       | AVIF      (else JPEG)
//   webp      | webp                     | WebP      (else JPEG)
//   jpeg      | -                        | JPEG
//   png, gif  | -                        | JPEG      (these workers re-encode photos; say so in `why`)
//
// Quality. Requests carry a JPEG-style quality (1..100, the profile's and the URL API's
// q), and each format is given the setting that looks at least as good as libjpeg-turbo
// at that quality (mean SSIM over the corpus, docs/results.md "WebP and AVIF output"):
//   WebP: the same number. libwebp's lossy scale was made to track JPEG's (cwebp -q);
//         its SSIM is a little higher at every q measured (10..90).
//   AVIF: the AV1 quantizer (0 best .. 63), piecewise linear, fitted to equal SSIM:
//         quantizer = 49 - 0.28 q up to q75 (q25 -> 42, q50 -> 35, q75 -> 28), then
//         28 (100 - q) / 25 down to 0 at q100. (libavif 1.x's own quality mapping,
//         63 (100 - q) / 100, gives q25 -> 47: visibly worse than JPEG q25, SSIM 0.870
//         against 0.908.)
//
// Fallback (EncodeFor). A WebP or AVIF no smaller than a JPEG of the same raster at the
// same quality, or one that fails to encode (WebP's sides stop at 16383), is replaced by
// that JPEG, with the reason in EncodedImage::fallback. Comparing with the original is
// the worker's job (it has the original): the original goes out if it is smaller.
//
// Worker start-up args (ParseOutputSettings): avif (1|0, default 1: AVIF allowed),
// avif_speed (0..10, default 8: libaom's real-time mode), avif_codec (aom|rav1e|svt,
// default aom), webp_method (0..6, default 4: libwebp's default effort).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "workers/image/avif_codec.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

enum class OutputFormat { kJpeg, kWebp, kAvif };

std::string_view FormatName(OutputFormat f);  // "jpeg", "webp", "avif"
std::string_view MimeType(OutputFormat f);    // "image/jpeg", ...

// What a worker class allows, from its start-up args.
struct OutputSettings {
  bool avif = true;
  int avif_speed = 8;
  AvifCodec avif_codec = AvifCodec::kAom;
  int webp_method = 4;
};

// InvalidArgument naming the arg for values out of range; args it doesn't know are
// left to the caller.
Result<OutputSettings> ParseOutputSettings(const std::map<std::string, std::string>& startup_args);

struct OutputChoice {
  OutputFormat format = OutputFormat::kJpeg;
  std::string why;                // how it was chosen, for the answer's meta
  int quality = 25;               // JPEG-style 1..100, mapped per encoder
  std::string icc;                // carried into the output if not empty
  bool compare_with_jpeg = true;  // the fallback above; off only to measure
  OutputSettings settings;
};

// The format per the table above, with `quality` and `settings` copied in.
// InvalidArgument for an `f` or `format` arg that is not a format name; a profile's
// unknown value counts as auto.
Result<OutputChoice> ChooseOutput(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                  const OutputSettings& settings, int quality);

// The JPEG-style quality on each encoder's scale (see above).
int WebpQuality(int jpeg_quality);
int AvifQuantizer(int jpeg_quality);

struct EncodedImage {
  std::string bytes;
  OutputFormat format = OutputFormat::kJpeg;
  std::string_view mime_type = "image/jpeg";
  std::string fallback;  // why JPEG went out instead of the chosen format; empty if it did not
};

// `raster` (1 or 3 channels) encoded as `choice` says, with the JPEG fallback.
// An error only if the JPEG encoding itself fails (e.g. a malformed raster).
Result<EncodedImage> EncodeFor(const Raster& raster, const OutputChoice& choice);

}  // namespace tacc::workers::image
