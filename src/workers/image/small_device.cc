#include "workers/image/small_device.h"

#include "workers/image/gray_levels.h"
#include "workers/image/png_codec.h"
#include "workers/image/resample.h"

namespace tacc::workers::image {

Result<std::string> EncodeGrayLevelsPng(const Raster& pixels, const DistillRequest& request) {
  const int levels = request.gray_levels();
  if (levels == 0) return Status::InvalidArgument("no gray levels asked (grays, bpp)");
  Raster gray = DitherGray(ToGray(Flatten(pixels, request.background)), levels);
  PngEncodeOptions options;
  options.gray_bit_depth = GrayBitDepth(levels);
  return EncodePng(gray, options);
}

Status PreferGrayLevelsPng(const Raster& pixels, const DistillRequest& request, std::string& bytes, std::string& mime_type) {
  if (request.gray_levels() == 0) return Status::Ok();
  auto png = EncodeGrayLevelsPng(pixels, request);
  if (!png.ok()) return png.status();
  if (png->size() < bytes.size()) {
    bytes = std::move(*png);
    mime_type = "image/png";
  }
  return Status::Ok();
}

}  // namespace tacc::workers::image
