// DistillRequest: what a client's task asks of an image distiller (issue 8), from the
// task's args (the URL API's w, h, q, gray; client hints' max_width and save_data; a
// dispatch rule's scale or quality) over the user's profile (quality, max_width, gray)
// over the worker class's defaults, and the size that follows for a given picture.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "workers/image/jpeg_codec.h"

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
  bool gray = false;
};

// InvalidArgument naming the argument for values out of range or not numbers.
Result<DistillRequest> ParseDistillRequest(const std::map<std::string, std::string>& args, const std::map<std::string, std::string>& profile,
                                           const DistillDefaults& defaults);

// The output size for a picture of `upright` size: within the box if one is given, else
// scaled and capped by max_width; the aspect ratio kept, never larger than the picture,
// at least 1x1.
Size TargetSize(Size upright, const DistillRequest& request);

}  // namespace tacc::workers::image
