#include "workers/image/webp_codec.h"

#include <webp/encode.h>
#include <webp/mux.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace tacc::workers::image {
namespace {

// libwebp's C objects, released on every path.
struct PictureGuard {
  WebPPicture* p;
  ~PictureGuard() { WebPPictureFree(p); }
};
struct WriterGuard {
  WebPMemoryWriter* w;
  ~WriterGuard() { WebPMemoryWriterClear(w); }
};
struct MuxDeleter {
  void operator()(WebPMux* m) const { WebPMuxDelete(m); }
};

// The bitstream with an ICCP chunk (WebPMuxAssemble writes the VP8X header that
// announces it).
Result<std::string> WithIcc(const uint8_t* bytes, size_t size, const std::string& icc) {
  WebPData image{bytes, size};
  std::unique_ptr<WebPMux, MuxDeleter> mux(WebPMuxCreate(&image, /*copy_data=*/0));
  if (!mux) return Status::Internal("libwebp: cannot read back its own bitstream");
  WebPData profile{reinterpret_cast<const uint8_t*>(icc.data()), icc.size()};
  if (WebPMuxSetChunk(mux.get(), "ICCP", &profile, /*copy_data=*/0) != WEBP_MUX_OK)
    return Status::Internal("libwebp: cannot add the ICC profile");
  WebPData out;
  WebPDataInit(&out);
  const WebPMuxError e = WebPMuxAssemble(mux.get(), &out);
  std::string result;
  if (e == WEBP_MUX_OK) result.assign(reinterpret_cast<const char*>(out.bytes), out.size);
  WebPDataClear(&out);
  if (e != WEBP_MUX_OK) return Status::Internal(fmt::format("libwebp: assembling the file failed ({})", static_cast<int>(e)));
  return result;
}

}  // namespace

Result<std::string> EncodeWebp(const Raster& raster, const WebpEncodeOptions& options) {
  if (raster.width <= 0 || raster.height <= 0 || (raster.channels != 1 && raster.channels != 3) ||
      raster.pixels.size() != static_cast<size_t>(raster.height) * raster.row_bytes())
    return Status::InvalidArgument("cannot encode an empty or malformed raster");
  if (raster.width > WEBP_MAX_DIMENSION || raster.height > WEBP_MAX_DIMENSION)
    return Status::InvalidArgument(fmt::format("a WebP is at most {} pixels on a side", WEBP_MAX_DIMENSION));

  WebPConfig config;
  if (!WebPConfigInit(&config)) return Status::Internal("libwebp: version mismatch");
  config.quality = static_cast<float>(std::clamp(options.quality, 0, 100));
  config.method = std::clamp(options.method, 0, 6);
  if (!WebPValidateConfig(&config)) return Status::Internal("libwebp: invalid configuration");

  WebPPicture picture;
  if (!WebPPictureInit(&picture)) return Status::Internal("libwebp: version mismatch");
  PictureGuard picture_guard{&picture};
  picture.width = raster.width;
  picture.height = raster.height;
  // Lossy coding works in YUV; importing converts (and allocates the planes).
  int imported = 0;
  if (raster.channels == 3) {
    imported = WebPPictureImportRGB(&picture, raster.pixels.data(), static_cast<int>(raster.row_bytes()));
  } else {
    std::vector<uint8_t> rgb(raster.pixels.size() * 3);
    for (size_t i = 0; i < raster.pixels.size(); ++i) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = raster.pixels[i];
    imported = WebPPictureImportRGB(&picture, rgb.data(), raster.width * 3);
  }
  if (!imported) return Status::Internal("libwebp: out of memory importing the picture");

  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  WriterGuard writer_guard{&writer};
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &writer;
  if (!WebPEncode(&config, &picture))
    return Status::Internal(fmt::format("libwebp: encoding failed (error {})", static_cast<int>(picture.error_code)));
  if (!options.icc.empty()) return WithIcc(writer.mem, writer.size, options.icc);
  return std::string(reinterpret_cast<const char*>(writer.mem), writer.size);
}

}  // namespace tacc::workers::image
