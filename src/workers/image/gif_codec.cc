#include "workers/image/gif_codec.h"

#include <fmt/format.h>
#include <gif_lib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

namespace tacc::workers::image {
namespace {

using Clock = std::chrono::steady_clock;

struct Reader {
  std::string_view bytes;
  size_t pos = 0;
};

int Read(GifFileType* gif, GifByteType* buf, int n) {
  auto* r = static_cast<Reader*>(gif->UserData);
  const size_t k = std::min(static_cast<size_t>(std::max(n, 0)), r->bytes.size() - r->pos);
  std::memcpy(buf, r->bytes.data() + r->pos, k);
  r->pos += k;
  return static_cast<int>(k);
}

int Write(GifFileType* gif, const GifByteType* buf, int n) {
  static_cast<std::string*>(gif->UserData)->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(std::max(n, 0)));
  return n;
}

struct DecoderClose {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};
struct EncoderClose {
  void operator()(GifFileType* g) const {
    int err = 0;
    EGifCloseFile(g, &err);
  }
};
struct MapFree {
  void operator()(ColorMapObject* m) const { GifFreeMapObject(m); }
};

Status Corrupt(const GifFileType* gif) {
  return Status::InvalidArgument(fmt::format("corrupt or truncated GIF: {}", GifErrorString(gif->Error) ? GifErrorString(gif->Error) : "unknown error"));
}

// The rows of a frame in the order an interlaced GIF stores them.
std::vector<int> RowOrder(int height, bool interlaced) {
  std::vector<int> rows;
  rows.reserve(static_cast<size_t>(height));
  if (!interlaced) {
    for (int y = 0; y < height; ++y) rows.push_back(y);
    return rows;
  }
  static constexpr int kStart[] = {0, 4, 2, 1}, kStep[] = {8, 8, 4, 2};
  for (int pass = 0; pass < 4; ++pass)
    for (int y = kStart[pass]; y < height; y += kStep[pass]) rows.push_back(y);
  return rows;
}

// Skips the LZW data of a frame that has no pixels to decode.
bool SkipImageData(GifFileType* gif) {
  int code_size = 0;
  GifByteType* block = nullptr;
  if (DGifGetCode(gif, &code_size, &block) == GIF_ERROR) return false;
  while (block != nullptr)
    if (DGifGetCodeNext(gif, &block) == GIF_ERROR) return false;
  return true;
}

}  // namespace

Result<GifInfo> DecodeGif(std::string_view bytes, const ImageLimits& limits, int max_frames, const std::function<bool(const GifFrame&)>& on_frame) {
  if (bytes.size() > limits.max_input_bytes)
    return Status::InvalidArgument(fmt::format("{} bytes: over the image limit of {} (max_input_mb)", bytes.size(), limits.max_input_bytes));
  if (bytes.size() < 6 || (bytes.substr(0, 6) != "GIF87a" && bytes.substr(0, 6) != "GIF89a")) return Status::InvalidArgument("not a GIF file (no GIF87a/GIF89a signature)");
  const auto deadline = Clock::now() + limits.max_decode;
  Reader reader{bytes, 0};
  int err = 0;
  std::unique_ptr<GifFileType, DecoderClose> gif(DGifOpen(&reader, Read, &err));
  if (!gif) return Status::InvalidArgument(fmt::format("corrupt GIF header: {}", GifErrorString(err) ? GifErrorString(err) : "unknown error"));

  GifInfo info;
  info.canvas = Size{gif->SWidth, gif->SHeight};
  if (gif->SWidth <= 0 || gif->SHeight <= 0) return Status::InvalidArgument("GIF with an empty logical screen");
  if (static_cast<uint64_t>(gif->SWidth) * static_cast<uint64_t>(gif->SHeight) > limits.max_pixels)
    return Status::InvalidArgument(fmt::format("{}x{} pixels declared: over the image limit of {} (max_megapixels)", gif->SWidth, gif->SHeight, limits.max_pixels));

  Raster canvas;
  canvas.width = gif->SWidth;
  canvas.height = gif->SHeight;
  canvas.channels = 4;
  canvas.pixels.assign(static_cast<size_t>(canvas.height) * canvas.row_bytes(), 0);
  Raster saved;  // the canvas before a frame whose disposal is "previous"
  std::vector<GifPixelType> line;
  GraphicsControlBlock gcb{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};

  for (;;) {
    GifRecordType type = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) {
      if (info.frames > 0 && reader.pos == bytes.size()) break;  // no trailer after whole frames
      return Corrupt(gif.get());
    }
    if (type == TERMINATE_RECORD_TYPE) break;
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR) return Corrupt(gif.get());
      bool netscape = false;
      if (ext && code == GRAPHICS_EXT_FUNC_CODE) {
        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_ERROR) gcb = {DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
      } else if (ext && code == APPLICATION_EXT_FUNC_CODE && ext[0] == 11 && std::memcmp(ext + 1, "NETSCAPE2.0", 11) == 0) {
        netscape = true;
      }
      for (;;) {
        if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR) return Corrupt(gif.get());
        if (!ext) break;
        if (netscape && ext[0] >= 3 && ext[1] == 1) info.loop_count = ext[2] | ext[3] << 8;
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) return Status::InvalidArgument("corrupt GIF: unknown record");

    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) return Corrupt(gif.get());
    if (info.frames >= max_frames) {
      info.over_frame_cap = true;
      return info;
    }
    const GifImageDesc& d = gif->Image;
    if (d.Width < 0 || d.Height < 0 || static_cast<uint64_t>(d.Width) * static_cast<uint64_t>(d.Height) > limits.max_pixels)
      return Status::InvalidArgument(fmt::format("a {}x{} frame: over the image limit of {} (max_megapixels)", d.Width, d.Height, limits.max_pixels));
    const ColorMapObject* map = d.ColorMap ? d.ColorMap : gif->SColorMap;
    if (!map || !map->Colors) return Status::InvalidArgument("corrupt GIF: a frame without a colour table");
    if (gcb.DisposalMode == DISPOSE_PREVIOUS) saved = canvas;

    // The part of the frame on the canvas.
    const int x0 = std::clamp(d.Left, 0, canvas.width), x1 = static_cast<int>(std::clamp<int64_t>(int64_t{d.Left} + d.Width, 0, canvas.width));
    const int y0 = std::clamp(d.Top, 0, canvas.height), y1 = static_cast<int>(std::clamp<int64_t>(int64_t{d.Top} + d.Height, 0, canvas.height));
    if (d.Width == 0 || d.Height == 0) {
      if (!SkipImageData(gif.get())) return Corrupt(gif.get());
    } else {
      line.resize(static_cast<size_t>(d.Width));
      for (int fy : RowOrder(d.Height, d.Interlace)) {
        if (DGifGetLine(gif.get(), line.data(), d.Width) == GIF_ERROR) return Corrupt(gif.get());
        if (Clock::now() > deadline)
          return Status::InvalidArgument(fmt::format("decoding took longer than {} ms (image limit max_decode_ms)", limits.max_decode.count()));
        const int y = d.Top + fy;
        if (y < y0 || y >= y1) continue;
        uint8_t* dst = canvas.row(y);
        for (int x = x0; x < x1; ++x) {
          const int i = line[static_cast<size_t>(x - d.Left)];
          if (i == gcb.TransparentColor || i >= map->ColorCount) continue;  // past the table: shown as transparent
          uint8_t* p = dst + static_cast<size_t>(x) * 4;
          p[0] = map->Colors[i].Red;
          p[1] = map->Colors[i].Green;
          p[2] = map->Colors[i].Blue;
          p[3] = 255;
        }
      }
    }
    GifFrame frame;
    frame.index = info.frames++;
    frame.delay_cs = gcb.DelayTime;
    frame.canvas = &canvas;
    if (!on_frame(frame)) return info;

    if (gcb.DisposalMode == DISPOSE_BACKGROUND) {  // browsers clear to transparent, not the background colour
      for (int y = y0; y < y1; ++y) std::fill(canvas.row(y) + static_cast<size_t>(x0) * 4, canvas.row(y) + static_cast<size_t>(x1) * 4, uint8_t{0});
    } else if (gcb.DisposalMode == DISPOSE_PREVIOUS) {
      canvas = std::move(saved);
      saved = Raster{};
    }
    gcb = {DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};  // a GCB applies to one frame
  }
  if (info.frames == 0) return Status::InvalidArgument("GIF without frames");
  return info;
}

Result<std::string> EncodeGif(const std::vector<GifOutputFrame>& frames, int loop_count) {
  if (frames.empty()) return Status::InvalidArgument("a GIF needs a frame");
  const int width = frames[0].image.width, height = frames[0].image.height;
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) return Status::InvalidArgument("a GIF is 1..65535 pixels on a side");
  for (const auto& f : frames)
    if (f.image.width != width || f.image.height != height || f.image.palette.empty() || f.image.palette.size() > 256 ||
        f.image.indices.size() != static_cast<size_t>(width) * static_cast<size_t>(height))
      return Status::InvalidArgument("GIF frames must be whole canvases of one size with 1..256 colours");

  std::string out;
  int err = 0;
  std::unique_ptr<GifFileType, EncoderClose> gif(EGifOpen(&out, Write, &err));
  if (!gif) return Status::Internal(fmt::format("GIF encoding failed: {}", GifErrorString(err) ? GifErrorString(err) : "unknown error"));
  auto failed = [&] { return Status::Internal(fmt::format("GIF encoding failed: {}", GifErrorString(gif->Error) ? GifErrorString(gif->Error) : "unknown error")); };
  EGifSetGifVersion(gif.get(), true);
  if (EGifPutScreenDesc(gif.get(), width, height, 8, 0, nullptr) == GIF_ERROR) return failed();
  const bool animated = frames.size() > 1;
  if (animated && loop_count >= 0) {
    const GifByteType loop[3] = {1, static_cast<GifByteType>(loop_count & 0xff), static_cast<GifByteType>(loop_count >> 8 & 0xff)};
    if (EGifPutExtensionLeader(gif.get(), APPLICATION_EXT_FUNC_CODE) == GIF_ERROR || EGifPutExtensionBlock(gif.get(), 11, "NETSCAPE2.0") == GIF_ERROR ||
        EGifPutExtensionBlock(gif.get(), 3, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif.get()) == GIF_ERROR)
      return failed();
  }
  std::vector<GifPixelType> row(static_cast<size_t>(width));
  for (const auto& f : frames) {
    const size_t entries = f.image.palette.size();
    int size = 2;
    while (static_cast<size_t>(size) < entries) size *= 2;
    std::vector<GifColorType> colours(static_cast<size_t>(size), GifColorType{0, 0, 0});
    for (size_t i = 0; i < entries; ++i) colours[i] = {f.image.palette[i][0], f.image.palette[i][1], f.image.palette[i][2]};
    std::unique_ptr<ColorMapObject, MapFree> map(GifMakeMapObject(size, colours.data()));
    if (!map) return Status::Internal("GIF encoding failed: no memory for a colour table");
    GraphicsControlBlock gcb{animated ? DISPOSE_BACKGROUND : DISPOSAL_UNSPECIFIED, false, f.delay_cs,
                             f.image.transparent >= 0 ? f.image.transparent : NO_TRANSPARENT_COLOR};
    if (animated || gcb.TransparentColor != NO_TRANSPARENT_COLOR) {
      GifByteType ext[4];
      const size_t len = EGifGCBToExtension(&gcb, ext);
      if (EGifPutExtension(gif.get(), GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext) == GIF_ERROR) return failed();
    }
    if (EGifPutImageDesc(gif.get(), 0, 0, width, height, false, map.get()) == GIF_ERROR) return failed();
    for (int y = 0; y < height; ++y) {
      // EGifPutLine masks the line in place: a copy.
      std::copy_n(f.image.indices.begin() + static_cast<ptrdiff_t>(y) * width, width, row.begin());
      for (auto& p : row)
        if (p >= entries) return Status::InvalidArgument("a palette index past the palette");
      if (EGifPutLine(gif.get(), row.data(), width) == GIF_ERROR) return failed();
    }
  }
  GifFileType* raw = gif.release();
  if (EGifCloseFile(raw, &err) == GIF_ERROR) return Status::Internal(fmt::format("GIF encoding failed: {}", GifErrorString(err) ? GifErrorString(err) : "unknown error"));
  return out;
}

}  // namespace tacc::workers::image
