// Small-device output (the paper's PDA case, issue 8), shared by the image distillers:
// when a request asks for `grays=N` or `bpp=1|2` (DistillRequest::gray_levels), the
// picture goes out as a gray PNG of that many levels, Floyd-Steinberg dithered, at the
// smallest bit depth that holds them (1 bit for bpp=1: 8 pixels a byte).
//
// The png and gif workers answer with that PNG. The jpeg worker has already encoded a
// gray JPEG at the asked quality and keeps whichever of the two is smaller
// (PreferGrayLevelsPng): a dithered 1-bit picture is usually the smaller, a 16-gray
// photo often is not, and the JPEG's grays are a superset of what was asked.
#pragma once

#include <string>

#include "common/status.h"
#include "workers/image/distill_request.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

// The gray PNG for `pixels` (any channels; alpha flattened onto the request's
// background) at request.gray_levels() levels. InvalidArgument if none is asked.
Result<std::string> EncodeGrayLevelsPng(const Raster& pixels, const DistillRequest& request);

// If `request` asks for gray levels and their PNG is smaller than `bytes`, replaces
// `bytes` with it and `mime_type` with image/png. Nothing happens otherwise.
Status PreferGrayLevelsPng(const Raster& pixels, const DistillRequest& request, std::string& bytes, std::string& mime_type);

}  // namespace tacc::workers::image
