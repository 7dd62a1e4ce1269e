#include "workers/image/png_codec.h"

#include <fmt/format.h>
#include <spng.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace tacc::workers::image {
namespace {

using Clock = std::chrono::steady_clock;

struct CtxFree {
  void operator()(spng_ctx* c) const { spng_ctx_free(c); }
};
using Ctx = std::unique_ptr<spng_ctx, CtxFree>;

constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";
// Ancillary chunks libspng keeps in memory (text, ICC, EXIF...), all together: a file of
// a few bytes can otherwise claim much memory through compressed text. (How many chunks
// a file may have is libspng's default, 1000: its 0.7.3 refuses to set the limit before
// any chunk has been read.)
constexpr size_t kChunkCacheBytes = size_t{8} << 20;

Status Error(const char* what, int err) { return Status::InvalidArgument(fmt::format("{} PNG: {}", what, spng_strerror(err))); }

// Reduces decoded RGBA8 to the fewest channels that lose nothing.
Raster Reduce(Raster rgba) {
  const size_t n = static_cast<size_t>(rgba.width) * static_cast<size_t>(rgba.height);
  bool opaque = true, gray = true;
  for (size_t i = 0; i < n && (opaque || gray); ++i) {
    const uint8_t* p = &rgba.pixels[i * 4];
    opaque = opaque && p[3] == 255;
    gray = gray && p[0] == p[1] && p[1] == p[2];
  }
  const int channels = (gray ? 1 : 3) + (opaque ? 0 : 1);
  if (channels == 4) return rgba;
  Raster out;
  out.width = rgba.width;
  out.height = rgba.height;
  out.channels = channels;
  out.pixels.resize(n * static_cast<size_t>(channels));
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &rgba.pixels[i * 4];
    uint8_t* q = &out.pixels[i * static_cast<size_t>(channels)];
    if (gray) {
      q[0] = p[0];
      if (!opaque) q[1] = p[3];
    } else {
      q[0] = p[0];
      q[1] = p[1];
      q[2] = p[2];
    }
  }
  return out;
}

// An encoder context writing to memory, with `ihdr` set.
Result<Ctx> NewEncoder(spng_ihdr& ihdr, const PngEncodeOptions& options) {
  Ctx ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  if (!ctx) return Status::Internal("libspng: no memory for an encoder");
  int err = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (!err) err = spng_set_ihdr(ctx.get(), &ihdr);
  // Filters rarely help palette or low-bit-depth pictures (the PNG spec's advice).
  if (!err && (ihdr.color_type == SPNG_COLOR_TYPE_INDEXED || ihdr.bit_depth < 8))
    err = spng_set_option(ctx.get(), SPNG_FILTER_CHOICE, SPNG_DISABLE_FILTERING);
  if (!err && !options.icc.empty()) {
    spng_iccp iccp{};
    std::strncpy(iccp.profile_name, "ICC profile", sizeof iccp.profile_name - 1);
    iccp.profile_len = options.icc.size();
    iccp.profile = const_cast<char*>(options.icc.data());
    err = spng_set_iccp(ctx.get(), &iccp);
  }
  if (err) return Status::Internal(fmt::format("PNG encoding failed: {}", spng_strerror(err)));
  return ctx;
}

Result<std::string> Finish(spng_ctx* ctx, const void* image, size_t len) {
  int err = spng_encode_image(ctx, image, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
  if (err) return Status::Internal(fmt::format("PNG encoding failed: {}", spng_strerror(err)));
  size_t size = 0;
  void* buf = spng_get_png_buffer(ctx, &size, &err);
  if (!buf || err) return Status::Internal(fmt::format("PNG encoding failed: {}", spng_strerror(err)));
  std::string out(static_cast<const char*>(buf), size);
  std::free(buf);
  return out;
}

// Rows of `width` samples of `depth` bits (< 8) packed most significant first.
std::vector<uint8_t> Pack(const uint8_t* samples, int width, int height, int depth) {
  const size_t row = (static_cast<size_t>(width) * static_cast<size_t>(depth) + 7) / 8;
  std::vector<uint8_t> out(row * static_cast<size_t>(height));
  for (int y = 0; y < height; ++y) {
    uint8_t* dst = out.data() + static_cast<size_t>(y) * row;
    const uint8_t* src = samples + static_cast<size_t>(y) * static_cast<size_t>(width);
    for (int x = 0; x < width; ++x) {
      const int bit = x * depth;
      dst[bit / 8] = static_cast<uint8_t>(dst[bit / 8] | src[x] << (8 - depth - bit % 8));
    }
  }
  return out;
}

}  // namespace

Result<DecodedPng> DecodePng(std::string_view bytes, const ImageLimits& limits) {
  if (bytes.size() > limits.max_input_bytes)
    return Status::InvalidArgument(fmt::format("{} bytes: over the image limit of {} (max_input_mb)", bytes.size(), limits.max_input_bytes));
  if (bytes.size() < 8 || bytes.substr(0, 8) != std::string_view(kSignature, 8)) return Status::InvalidArgument("not a PNG file (no signature)");
  const auto deadline = Clock::now() + limits.max_decode;
  Ctx ctx(spng_ctx_new(0));
  if (!ctx) return Status::Internal("libspng: no memory for a decoder");
  // libspng's own limits: a side within what max_pixels could allow, chunks within the
  // input (they can't be larger) and the cache.
  const auto side = static_cast<uint32_t>(std::min<uint64_t>(limits.max_pixels, 0x7fffffff));
  int err = spng_set_image_limits(ctx.get(), side, side);
  if (!err) err = spng_set_chunk_limits(ctx.get(), std::min<size_t>(bytes.size(), 0x7fffffff), kChunkCacheBytes);
  if (!err) err = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  if (err) return Error("cannot read", err);

  spng_ihdr ihdr{};
  if ((err = spng_get_ihdr(ctx.get(), &ihdr))) return Error("corrupt or unsupported", err);
  DecodedPng out;
  out.source = Size{static_cast<int>(ihdr.width), static_cast<int>(ihdr.height)};
  out.colour_type = ihdr.color_type;
  out.bit_depth = ihdr.bit_depth;
  out.interlaced = ihdr.interlace_method != SPNG_INTERLACE_NONE;
  if (static_cast<uint64_t>(ihdr.width) * ihdr.height > limits.max_pixels)
    return Status::InvalidArgument(fmt::format("{}x{} pixels declared: over the image limit of {} (max_megapixels)", ihdr.width, ihdr.height, limits.max_pixels));

  size_t size = 0;
  if ((err = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGBA8, &size))) return Error("corrupt or unsupported", err);
  // Row by row, so that the time limit can be checked as it goes.
  if ((err = spng_decode_image(ctx.get(), nullptr, 0, SPNG_FMT_RGBA8, SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE)))
    return Error("corrupt or unsupported", err);
  Raster rgba;
  rgba.width = out.source.width;
  rgba.height = out.source.height;
  rgba.channels = 4;
  rgba.pixels.resize(size);
  if (size != static_cast<size_t>(rgba.height) * rgba.row_bytes()) return Status::Internal("libspng: unexpected decoded size");
  for (;;) {
    spng_row_info row{};
    if ((err = spng_get_row_info(ctx.get(), &row))) break;
    if (row.row_num >= ihdr.height) return Status::Internal("libspng: row out of range");
    err = spng_decode_row(ctx.get(), rgba.row(static_cast<int>(row.row_num)), rgba.row_bytes());
    if (err) break;
    if (Clock::now() > deadline)
      return Status::InvalidArgument(fmt::format("decoding took longer than {} ms (image limit max_decode_ms)", limits.max_decode.count()));
  }
  if (err != SPNG_EOI) return Error("corrupt or truncated", err);

  spng_iccp iccp{};
  if (spng_get_iccp(ctx.get(), &iccp) == 0 && iccp.profile && iccp.profile_len > 0) out.icc.assign(iccp.profile, iccp.profile_len);
  out.raster = Reduce(std::move(rgba));
  return out;
}

Result<std::string> EncodePng(const Raster& raster, const PngEncodeOptions& options) {
  if (raster.width <= 0 || raster.height <= 0 || raster.channels < 1 || raster.channels > 4 ||
      raster.pixels.size() != static_cast<size_t>(raster.height) * raster.row_bytes())
    return Status::InvalidArgument("cannot encode an empty or malformed raster");
  const int depth = raster.channels == 1 ? options.gray_bit_depth : 8;
  if (depth != 1 && depth != 2 && depth != 4 && depth != 8) return Status::InvalidArgument("a gray PNG has 1, 2, 4 or 8 bits per pixel");
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(raster.width);
  ihdr.height = static_cast<uint32_t>(raster.height);
  ihdr.bit_depth = static_cast<uint8_t>(depth);
  static constexpr uint8_t kTypes[] = {SPNG_COLOR_TYPE_GRAYSCALE, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, SPNG_COLOR_TYPE_TRUECOLOR,
                                       SPNG_COLOR_TYPE_TRUECOLOR_ALPHA};
  ihdr.color_type = kTypes[raster.channels - 1];
  auto ctx = NewEncoder(ihdr, options);
  if (!ctx.ok()) return ctx.status();
  if (depth == 8) return Finish(ctx->get(), raster.pixels.data(), raster.pixels.size());
  const int max = (1 << depth) - 1;
  std::vector<uint8_t> samples(raster.pixels.size());
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<uint8_t>((raster.pixels[i] * max + 127) / 255);
  auto packed = Pack(samples.data(), raster.width, raster.height, depth);
  return Finish(ctx->get(), packed.data(), packed.size());
}

Result<std::string> EncodePalettePng(const IndexedImage& image, const PngEncodeOptions& options) {
  if (image.width <= 0 || image.height <= 0 || image.palette.empty() || image.palette.size() > 256 ||
      image.indices.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height))
    return Status::InvalidArgument("cannot encode an empty or malformed palette picture");
  const size_t entries = image.palette.size();
  const int depth = entries <= 2 ? 1 : entries <= 4 ? 2 : entries <= 16 ? 4 : 8;
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(image.width);
  ihdr.height = static_cast<uint32_t>(image.height);
  ihdr.bit_depth = static_cast<uint8_t>(depth);
  ihdr.color_type = SPNG_COLOR_TYPE_INDEXED;
  auto ctx = NewEncoder(ihdr, options);
  if (!ctx.ok()) return ctx.status();
  spng_plte plte{};
  spng_trns trns{};
  plte.n_entries = static_cast<uint32_t>(entries);
  for (size_t i = 0; i < entries; ++i) {
    plte.entries[i] = {image.palette[i][0], image.palette[i][1], image.palette[i][2], 255};
    trns.type3_alpha[i] = image.palette[i][3];
    if (image.palette[i][3] != 255) trns.n_type3_entries = static_cast<uint32_t>(i + 1);
  }
  int err = spng_set_plte(ctx->get(), &plte);
  if (!err && trns.n_type3_entries > 0) err = spng_set_trns(ctx->get(), &trns);
  if (err) return Status::Internal(fmt::format("PNG encoding failed: {}", spng_strerror(err)));
  for (uint8_t i : image.indices)
    if (i >= entries) return Status::InvalidArgument("a palette index past the palette");
  if (depth == 8) return Finish(ctx->get(), image.indices.data(), image.indices.size());
  auto packed = Pack(image.indices.data(), image.width, image.height, depth);
  return Finish(ctx->get(), packed.data(), packed.size());
}

}  // namespace tacc::workers::image
