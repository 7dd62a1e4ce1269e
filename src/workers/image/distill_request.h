// DistillRequest: what a client's task asks of an image distiller (issue 8), from the
// task's args (the URL API's w, h, q, gray; client hints' max_width and save_data; a
// dispatch rule's scale or quality) over the user's profile (quality, max_width, gray)
// over the worker class's defaults, and the size that follows for a given picture.
// Small devices (the paper's PDA) ask, by arg or profile key, for `grays=N` (N levels of
// gray, 2..256) or `bpp=1|2` (1 or 2 bits per pixel), both dithered: see small_device.h.
// `background` (white, black, or RRGGBB hex) is what alpha is flattened onto when the
// output can't keep it; `flatten=1` asks for that even when it could.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "workers/image/jpeg_codec.h"
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

  // The levels of gray a small device asks for (from bpp, or grays, the fewer if both);
  // 0 when none is asked.
  int gray_levels() const;
};

// InvalidArgument naming the argument for values out of range or not numbers.
Result<DistillRequest> ParseDistillRequest(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                           const DistillDefaults& defaults);

// The output size for a picture of `upright` size: within the box if one is given, else
// scaled and capped by max_width; the aspect ratio kept, never larger than the picture,
// at least 1x1.
Size TargetSize(Size upright, const DistillRequest& request);

}  // namespace tacc::workers::image
