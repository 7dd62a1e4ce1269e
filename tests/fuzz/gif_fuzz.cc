// libFuzzer target for the GIF decoder (issue 8): the bytes any origin can send the gif
// worker.
//
// The input is decoded under small limits (a 64K-pixel canvas, 16 frames: every frame
// is a whole canvas to composite, scale and quantize, so small canvases keep it fast). Checks: no
// crash or sanitizer report; every canvas handed over is the declared size, RGBA; the
// frames survive what the worker does next (resize, binary alpha, palette) and re-encode
// to a GIF that decodes to as many frames of the scaled size.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "workers/image/gif_codec.h"
#include "workers/image/palette.h"
#include "workers/image/resample.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "gif_fuzz: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tacc::workers::image;
  ImageLimits limits;
  limits.max_input_bytes = 1 << 20;
  limits.max_pixels = 1 << 16;
  limits.max_decode = std::chrono::milliseconds(2000);
  constexpr int kMaxFrames = 16;
  std::vector<GifOutputFrame> frames;
  int seen = 0;
  auto info = DecodeGif(std::string_view(reinterpret_cast<const char*>(data), size), limits, kMaxFrames, [&](const GifFrame& f) {
    const Raster& c = *f.canvas;
    Check(f.index == seen++, "frames out of order");
    Check(c.channels == 4 && c.width > 0 && c.height > 0, "odd canvas");
    Check(c.pixels.size() == static_cast<size_t>(c.height) * c.row_bytes(), "canvas size");
    Check(static_cast<uint64_t>(c.width) * static_cast<uint64_t>(c.height) <= limits.max_pixels, "canvas over the pixel limit");
    auto q = Quantize(BinaryAlpha(ResizeArea(c, (c.width + 1) / 2, (c.height + 1) / 2)), 256);
    Check(q.ok(), "quantizing a canvas failed");
    frames.push_back({std::move(*q), f.delay_cs});
    return true;
  });
  if (!info.ok()) {
    Check(info.status().kind() == tacc::ErrorKind::kInvalidArgument, "a decoding failure is not InvalidArgument");
    return 0;
  }
  Check(info->frames == seen && info->frames <= kMaxFrames, "frame count");
  if (frames.empty()) {
    Check(info->over_frame_cap, "no frames yet no error");
    return 0;
  }
  auto gif = EncodeGif(frames, info->loop_count);
  Check(gif.ok(), "encoding the frames failed");
  int again = 0;
  auto back = DecodeGif(*gif, limits, kMaxFrames, [&](const GifFrame& f) {
    Check(f.canvas->width == frames[0].image.width && f.canvas->height == frames[0].image.height, "re-encoded size differs");
    ++again;
    return true;
  });
  Check(back.ok(), "a GIF we wrote does not decode");
  Check(again == static_cast<int>(frames.size()), "re-encoded frame count differs");
  return 0;
}
