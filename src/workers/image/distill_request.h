// DistillRequest: what a client's task asks of an image distiller (issue 8), from the
// task's args (the URL API's w, h, q, gray; client hints' max_width and save_data; a
// dispatch rule's scale or quality; refinement's crop and orig) over the user's profile
// (quality, max_width, gray) over the worker class's defaults, and the size that
// follows for a given picture.
//
// Refinement (paper Figure 1: the user picks a region of a distilled picture and gets
// it at a higher resolution, or asks for the original):
//   crop=x,y,w,h  the region, in the ORIGINAL picture's upright pixels (after its EXIF
//                 orientation: what the user saw). It is cut out before resizing, the
//                 target size fits the region, and scale defaults to 1 (no shrinking
//                 unless scale, a box or max_width asks). Out of the picture, or w or h
//                 under 1: InvalidArgument.
//   zoom=x,y,dw   a click at (x, y) on the picture shown dw pixels wide (the refine
//                 page's image map): the crop becomes the region half the picture's
//                 width and height around that point (kept inside the picture), at full
//                 resolution and at least quality 75. Resolved once the size is known
//                 (ResolveRegion).
//   orig=1        no distillation at all: the original bytes (the worker answers them
//                 with meta distilled=no, reason refinement).
// Small devices (the paper's PDA) ask, by arg or profile key, for `grays=N` (N levels of
// gray, 2..256) or `bpp=1|2` (1 or 2 bits per pixel), both dithered: see small_device.h.
// `background` (white, black, or RRGGBB hex) is what alpha is flattened onto when the
// output can't keep it; `flatten=1` asks for that even when it could.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "workers/image/jpeg_codec.h"
#include "workers/image/raster.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {

struct DistillDefaults {
  double scale = 0.5;  // of each side (the paper's workload: 2x smaller each way)
  int quality = 25;    // the paper's workload
};

struct DistillRequest {
  int box_width = 0, box_height = 0;  // an exact box to fit in (URL API w, h); 0: none
  double scale = 0.5;
  int max_width = 0;  // cap on the width (client hints, profile); 0: none
  int quality = 25;
  bool gray = false;     // also set by grays or bpp
  int grays = 0;         // levels of gray for a small device (2..256); 0: not asked
  int bpp = 0;           // bits per pixel for a small device (1 or 2); 0: not asked
  Rgb background;        // white unless asked
  bool flatten = false;  // alpha flattened onto the background even where it could stay
  struct Region {
    int x = 0, y = 0, width = 0, height = 0;
  };
  std::optional<Region> crop;  // upright pixels of the original
  struct Zoom {
    int x = 0, y = 0, display_width = 1;
  };
  std::optional<Zoom> zoom;  // becomes `crop` in ResolveRegion
  bool original = false;       // orig=1

  // The levels of gray a small device asks for (from bpp, or grays, the fewer if both);
  // 0 when none is asked.
  int gray_levels() const;
};

// The type a planned chain's step must produce (task arg `to`, src/tacc/chain_planner.h),
// or "" when the worker may choose. InvalidArgument if it is not one of `allowed`.
// A step with `to` answers that type even when it is not smaller than the original
// (the client, or the next step, cannot take another).
Result<std::string> RequiredType(const std::map<std::string, std::string>& args, const std::vector<std::string>& allowed, std::string_view worker);

// InvalidArgument naming the argument for values out of range or not numbers.
Result<DistillRequest> ParseDistillRequest(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                           const DistillDefaults& defaults);

// The output size for a picture of `upright` size (of its crop region, if any): within
// the box if one is given, else scaled and capped by max_width; the aspect ratio kept,
// never larger than the picture (region), at least 1x1.
Size TargetSize(Size upright, const DistillRequest& request);

// InvalidArgument unless the crop region (if any) lies inside a picture of `upright` size.
Status CheckCrop(Size upright, const DistillRequest& request);

// Turns a zoom into its crop region for a picture of `upright` size, then CheckCrop.
Status ResolveRegion(Size upright, DistillRequest& request);

// The size the WHOLE picture must be decoded to (at least) so that its crop region
// covers `target`: `target` itself without a crop.
Size DecodeSize(Size upright, Size target, const DistillRequest& request);

// `pixels` (the whole picture, upright, at any decoded size) cut to the crop region,
// mapped from `upright` (the original's size) to the decoded size, outward to whole
// pixels; unchanged without a crop.
Raster CropRegion(Raster pixels, Size upright, const DistillRequest& request);

}  // namespace tacc::workers::image
