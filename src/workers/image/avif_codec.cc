#include "workers/image/avif_codec.h"

#include <avif/avif.h>

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace tacc::workers::image {
namespace {

struct ImageDeleter {
  void operator()(avifImage* i) const { avifImageDestroy(i); }
};
struct EncoderDeleter {
  void operator()(avifEncoder* e) const { avifEncoderDestroy(e); }
};
struct RWDataGuard {
  avifRWData* d;
  ~RWDataGuard() { avifRWDataFree(d); }
};

avifCodecChoice Choice(AvifCodec c) {
  switch (c) {
    case AvifCodec::kRav1e:
      return AVIF_CODEC_CHOICE_RAV1E;
    case AvifCodec::kSvt:
      return AVIF_CODEC_CHOICE_SVT;
    case AvifCodec::kAom:
      break;
  }
  return AVIF_CODEC_CHOICE_AOM;
}

}  // namespace

Result<AvifCodec> ParseAvifCodec(std::string_view name) {
  AvifCodec c;
  if (name == "aom")
    c = AvifCodec::kAom;
  else if (name == "rav1e")
    c = AvifCodec::kRav1e;
  else if (name == "svt")
    c = AvifCodec::kSvt;
  else
    return Status::InvalidArgument(fmt::format("avif_codec must be aom, rav1e or svt, not '{}'", name));
  if (!avifCodecName(Choice(c), AVIF_CODEC_FLAG_CAN_ENCODE))
    return Status::InvalidArgument(fmt::format("this libavif ({}) cannot encode with {}", avifVersion(), name));
  return c;
}

Result<std::string> EncodeAvif(const Raster& raster, const AvifEncodeOptions& options) {
  if (raster.width <= 0 || raster.height <= 0 || (raster.channels != 1 && raster.channels != 3) ||
      raster.pixels.size() != static_cast<size_t>(raster.height) * raster.row_bytes())
    return Status::InvalidArgument("cannot encode an empty or malformed raster");
  // AV1's frame size fields are 16 bits.
  if (raster.width > 65536 || raster.height > 65536) return Status::InvalidArgument("an AVIF is at most 65536 pixels on a side");

  const bool gray = raster.channels == 1;
  std::unique_ptr<avifImage, ImageDeleter> image(avifImageCreate(static_cast<uint32_t>(raster.width), static_cast<uint32_t>(raster.height),
                                                                 8, gray ? AVIF_PIXEL_FORMAT_YUV400 : AVIF_PIXEL_FORMAT_YUV420));
  if (!image) return Status::Internal("libavif: out of memory");
  // The distillers' pixels are sRGB (a JPEG without a profile is taken as sRGB).
  image->yuvRange = AVIF_RANGE_FULL;
  image->colorPrimaries = AVIF_COLOR_PRIMARIES_BT709;
  image->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_SRGB;
  image->matrixCoefficients = AVIF_MATRIX_COEFFICIENTS_BT601;
  if (!options.icc.empty()) avifImageSetProfileICC(image.get(), reinterpret_cast<const uint8_t*>(options.icc.data()), options.icc.size());

  avifRGBImage rgb;
  avifRGBImageSetDefaults(&rgb, image.get());
  rgb.format = AVIF_RGB_FORMAT_RGB;
  std::vector<uint8_t> expanded;  // libavif reads RGB(A) only; a gray raster is widened
  if (gray) {
    expanded.resize(raster.pixels.size() * 3);
    for (size_t i = 0; i < raster.pixels.size(); ++i) expanded[3 * i] = expanded[3 * i + 1] = expanded[3 * i + 2] = raster.pixels[i];
    rgb.pixels = expanded.data();
  } else {
    rgb.pixels = const_cast<uint8_t*>(raster.pixels.data());  // only read
  }
  rgb.rowBytes = static_cast<uint32_t>(raster.width) * 3;
  if (avifResult r = avifImageRGBToYUV(image.get(), &rgb); r != AVIF_RESULT_OK)
    return Status::Internal(fmt::format("libavif: RGB to YUV failed: {}", avifResultToString(r)));

  std::unique_ptr<avifEncoder, EncoderDeleter> encoder(avifEncoderCreate());
  if (!encoder) return Status::Internal("libavif: out of memory");
  encoder->codecChoice = Choice(options.codec);
  encoder->maxThreads = 1;  // a worker is one thread on its core
  encoder->speed = std::clamp(options.speed, AVIF_SPEED_SLOWEST, AVIF_SPEED_FASTEST);
  // One fixed quantizer: libavif then asks the AV1 encoder for constant quality.
  const int q = std::clamp(options.quantizer, AVIF_QUANTIZER_BEST_QUALITY, AVIF_QUANTIZER_WORST_QUALITY);
  encoder->minQuantizer = encoder->maxQuantizer = q;
  avifRWData out = AVIF_DATA_EMPTY;
  RWDataGuard out_guard{&out};
  if (avifResult r = avifEncoderWrite(encoder.get(), image.get(), &out); r != AVIF_RESULT_OK)
    return Status::Internal(fmt::format("libavif: encoding failed: {} {}", avifResultToString(r), encoder->diag.error));
  return std::string(reinterpret_cast<const char*>(out.data), out.size);
}

}  // namespace tacc::workers::image
