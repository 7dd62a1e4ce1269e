// GIF decoding and encoding for the distillers (issue 8), on giflib's low-level API
// (record by record, line by line) rather than DGifSlurp, so that every limit is
// checked before the pixels it guards are decoded: the logical screen's width x height
// as soon as the header is read, each frame's size before its pixels, the frame count
// as each frame starts, the decode time between lines.
//
// Frames are composited the way browsers show them: onto a canvas that starts
// transparent, each frame's transparent index leaving what is below, and each frame's
// disposal (none, background = cleared to transparent, previous = restored) applied
// before the next. The caller sees every full canvas, so it never has to deal with
// sub-rectangles or disposal itself.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "workers/image/image_limits.h"
#include "workers/image/palette.h"
#include "workers/image/raster.h"

namespace tacc::workers::image {

struct GifFrame {
  int index = 0;     // 0-based
  int delay_cs = 0;  // display time, in 1/100 s
  const Raster* canvas = nullptr;  // RGBA, the logical screen's size; valid during the call
};

struct GifInfo {
  Size canvas;
  int frames = 0;              // frames seen (those handed over)
  bool over_frame_cap = false;  // a frame past max_frames started; decoding stopped there
  int loop_count = -1;          // the NETSCAPE2.0 loop count (0: forever), -1 if none
};

// Decodes `bytes`, calling `on_frame` with each composited canvas; `on_frame` returns
// false to stop early (decoding then ends without error). Frames past
// `max_frames` are not decoded: the result says over_frame_cap. A file that ends after
// a whole frame without its trailer is accepted (common in the wild); corrupt or
// truncated frames, a canvas or frame over max_pixels, a file over max_input_bytes or
// a decode over max_decode are InvalidArgument.
Result<GifInfo> DecodeGif(std::string_view bytes, const ImageLimits& limits, int max_frames, const std::function<bool(const GifFrame&)>& on_frame);

struct GifOutputFrame {
  IndexedImage image;  // the whole canvas; alpha only through `transparent`
  int delay_cs = 0;
};

// A GIF89a of `frames` (all the same size, each with its own palette). With more than
// one frame: each is disposed to transparent before the next (they are whole canvases)
// and the NETSCAPE2.0 loop count is written when loop_count >= 0.
Result<std::string> EncodeGif(const std::vector<GifOutputFrame>& frames, int loop_count);

}  // namespace tacc::workers::image
