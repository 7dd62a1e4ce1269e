#include "workers/image/palette.h"

#include <gif_lib.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace tacc::workers::image {
namespace {

// A pixel as RGBA packed in 32 bits, whatever the raster's channels; every fully
// transparent pixel is the same (0), whatever colour it hides.
uint32_t Key(const uint8_t* p, int channels) {
  switch (channels) {
    case 1: return uint32_t{p[0]} << 24 | uint32_t{p[0]} << 16 | uint32_t{p[0]} << 8 | 255u;
    case 2: return p[1] == 0 ? 0 : uint32_t{p[0]} << 24 | uint32_t{p[0]} << 16 | uint32_t{p[0]} << 8 | p[1];
    case 3: return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | 255u;
    default: return p[3] == 0 ? 0 : uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  }
}

std::array<uint8_t, 4> Unpack(uint32_t k) {
  return {static_cast<uint8_t>(k >> 24), static_cast<uint8_t>(k >> 16), static_cast<uint8_t>(k >> 8), static_cast<uint8_t>(k)};
}

size_t PixelCount(const Raster& in) { return static_cast<size_t>(in.width) * static_cast<size_t>(in.height); }

// GifQuantizeBuffer keeps its sort axis in a static variable: one caller at a time.
std::mutex quantize_mutex;

}  // namespace

Raster BinaryAlpha(Raster in) {
  if (!in.has_alpha_channel()) return in;
  const size_t ch = static_cast<size_t>(in.channels);
  for (size_t i = 0; i < in.pixels.size(); i += ch) {
    uint8_t* p = &in.pixels[i];
    if (p[ch - 1] >= 128) {
      p[ch - 1] = 255;
    } else {
      std::fill(p, p + ch, uint8_t{0});
    }
  }
  return in;
}

int CountColours(const Raster& in, int limit) {
  std::unordered_set<uint32_t> seen;
  seen.reserve(static_cast<size_t>(limit) * 2 + 2);
  const size_t n = PixelCount(in), ch = static_cast<size_t>(in.channels);
  uint32_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = Key(&in.pixels[i * ch], in.channels);
    if (i > 0 && k == last) continue;  // runs are common in pictures with few colours
    last = k;
    if (seen.insert(k).second && static_cast<int>(seen.size()) > limit) break;
  }
  return static_cast<int>(seen.size());
}

Result<IndexedImage> Quantize(const Raster& in, int max_colours) {
  if (in.width <= 0 || in.height <= 0 || in.channels < 1 || in.channels > 4 || in.pixels.size() != PixelCount(in) * static_cast<size_t>(in.channels))
    return Status::InvalidArgument("cannot quantize an empty or malformed raster");
  if (max_colours < 2 || max_colours > 256) return Status::InvalidArgument("a palette has 2..256 colours");
  IndexedImage out;
  out.width = in.width;
  out.height = in.height;
  const size_t n = PixelCount(in), ch = static_cast<size_t>(in.channels);
  out.indices.resize(n);

  if (CountColours(in, max_colours) <= max_colours) {
    std::unordered_map<uint32_t, uint8_t> index;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t k = Key(&in.pixels[i * ch], in.channels);
      auto [it, added] = index.try_emplace(k, static_cast<uint8_t>(out.palette.size()));
      if (added) out.palette.push_back(Unpack(k));
      out.indices[i] = it->second;
    }
    int translucent = 0;
    for (size_t i = 0; i < out.palette.size(); ++i)
      if (out.palette[i][3] != 255) {
        ++translucent;
        out.transparent = static_cast<int>(i);
      }
    if (translucent != 1 || out.palette[static_cast<size_t>(out.transparent)][3] != 0) out.transparent = -1;
    return out;
  }

  // Median cut over the opaque pixels (alpha >= 128); the rest share one transparent entry.
  const bool alpha = in.has_alpha_channel();
  std::vector<uint8_t> r, g, b;
  std::vector<size_t> where;
  r.reserve(n);
  g.reserve(n);
  b.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &in.pixels[i * ch];
    if (alpha && p[ch - 1] < 128) continue;
    r.push_back(p[0]);
    g.push_back(ch >= 3 ? p[1] : p[0]);
    b.push_back(ch >= 3 ? p[2] : p[0]);
    where.push_back(i);
  }
  const bool has_transparent = where.size() < n;
  int size = max_colours - (has_transparent ? 1 : 0);
  std::vector<uint8_t> mapped(where.size());
  GifColorType map[256] = {};
  if (!where.empty()) {
    std::lock_guard lock(quantize_mutex);
    if (GifQuantizeBuffer(static_cast<unsigned>(where.size()), 1, &size, r.data(), g.data(), b.data(), mapped.data(), map) != GIF_OK)
      return Status::Internal("giflib's colour quantizer failed");
  } else {
    size = 0;
  }
  // giflib's entries are the mean of 5-bit cells (biased dark); each becomes the mean of
  // the pixels mapped to it instead.
  std::vector<uint64_t> sum(static_cast<size_t>(size) * 3);
  std::vector<uint64_t> count(static_cast<size_t>(size));
  for (size_t j = 0; j < where.size(); ++j) {
    const size_t e = mapped[j];
    sum[e * 3] += r[j];
    sum[e * 3 + 1] += g[j];
    sum[e * 3 + 2] += b[j];
    ++count[e];
  }
  out.palette.resize(static_cast<size_t>(size));
  for (size_t e = 0; e < out.palette.size(); ++e) {
    if (count[e] == 0) {
      out.palette[e] = {map[e].Red, map[e].Green, map[e].Blue, 255};
      continue;
    }
    for (size_t c = 0; c < 3; ++c) out.palette[e][c] = static_cast<uint8_t>((sum[e * 3 + c] + count[e] / 2) / count[e]);
    out.palette[e][3] = 255;
  }
  if (has_transparent) {
    out.transparent = static_cast<int>(out.palette.size());
    out.palette.push_back({0, 0, 0, 0});
    std::fill(out.indices.begin(), out.indices.end(), static_cast<uint8_t>(out.transparent));
  }
  for (size_t j = 0; j < where.size(); ++j) out.indices[where[j]] = mapped[j];
  return out;
}

}  // namespace tacc::workers::image
