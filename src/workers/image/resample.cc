#include "workers/image/resample.h"

#include <algorithm>
#include <utility>

namespace tacc::workers::image {
namespace {

// For one axis: the input pixels each output pixel covers, with their weights (in
// 1/65536 of the output pixel), so that an output pixel is a weighted sum.
struct Tap {
  int first = 0;
  std::vector<uint32_t> weights;
};

std::vector<Tap> AreaTaps(int in_size, int out_size) {
  std::vector<Tap> taps(static_cast<size_t>(out_size));
  const double scale = static_cast<double>(in_size) / out_size;  // input pixels per output pixel
  for (int o = 0; o < out_size; ++o) {
    Tap& t = taps[static_cast<size_t>(o)];
    if (scale <= 1.0) {  // enlarging: nearest input pixel
      t.first = std::min(in_size - 1, static_cast<int>(o * scale));
      t.weights = {65536};
      continue;
    }
    const double start = o * scale, end = start + scale;
    t.first = static_cast<int>(start);
    const int last = std::min(in_size - 1, static_cast<int>(end - 1e-9));
    uint32_t total = 0;
    for (int i = t.first; i <= last; ++i) {
      double covered = std::min<double>(end, i + 1) - std::max<double>(start, i);
      auto w = static_cast<uint32_t>(covered / scale * 65536.0 + 0.5);
      t.weights.push_back(w);
      total += w;
    }
    // Rounding: the weights sum to exactly one output pixel.
    if (!t.weights.empty()) {
      const uint32_t others = total - t.weights.back();
      t.weights.back() = others < 65536 ? 65536 - others : 0;
    }
  }
  return taps;
}

// The two passes (horizontal into fixed-point sums per row, then vertical). With
// kPremultiply the last channel is alpha and each colour is weighted by it as it is
// summed (premultiplied), then divided by the summed alpha: a transparent pixel's colour
// (often black or junk) then counts for nothing, so edges don't fringe.
template <bool kPremultiply>
Raster ResizeAreaPasses(const Raster& in, int width, int height) {
  const int ch = in.channels;
  const size_t sch = static_cast<size_t>(ch);
  const auto xs = AreaTaps(in.width, width), ys = AreaTaps(in.height, height);
  // Input values: 8-bit samples, or (premultiplied) colour x alpha and alpha x 255, both
  // at most 65025. Row sums keep 8 more bits than the values.
  std::vector<uint32_t> rows(static_cast<size_t>(in.height) * static_cast<size_t>(width) * sch);
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* src = in.row(y);
    uint32_t* dst = rows.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * sch;
    for (int x = 0; x < width; ++x) {
      const Tap& t = xs[static_cast<size_t>(x)];
      for (int c = 0; c < ch; ++c) {
        uint64_t sum = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) {
          const uint8_t* p = src + static_cast<size_t>(t.first + static_cast<int>(k)) * sch;
          uint32_t v = p[c];
          if constexpr (kPremultiply) v = c == ch - 1 ? v * 255u : v * p[ch - 1];
          sum += static_cast<uint64_t>(v) * t.weights[k];
        }
        // Weights sum to 65536: sum >> 8 is the value * 256 (fits: 65025 * 256 < 2^32).
        dst[static_cast<size_t>(x) * sch + static_cast<size_t>(c)] = static_cast<uint32_t>(sum >> 8);
      }
    }
  }
  Raster out;
  out.width = width;
  out.height = height;
  out.channels = ch;
  out.pixels.resize(static_cast<size_t>(height) * out.row_bytes());
  const size_t stride = static_cast<size_t>(width) * sch;
  std::vector<uint64_t> sums(sch);
  for (int y = 0; y < height; ++y) {
    const Tap& t = ys[static_cast<size_t>(y)];
    uint8_t* dst = out.row(y);
    for (size_t px = 0; px < stride; px += sch) {
      for (size_t c = 0; c < sch; ++c) {
        uint64_t sum = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) sum += static_cast<uint64_t>(rows[static_cast<size_t>(t.first + static_cast<int>(k)) * stride + px + c]) * t.weights[k];
        sums[c] = sum;  // the value * 2^24
      }
      if constexpr (!kPremultiply) {
        for (size_t c = 0; c < sch; ++c) dst[px + c] = static_cast<uint8_t>(std::min<uint64_t>(255, (sums[c] + (uint64_t{1} << 23)) >> 24));
      } else {
        const uint64_t a = sums[sch - 1];  // alpha * 255 * 2^24
        dst[px + sch - 1] = static_cast<uint8_t>(std::min<uint64_t>(255, (a + 255 * (uint64_t{1} << 23)) / (255 * (uint64_t{1} << 24))));
        for (size_t c = 0; c + 1 < sch; ++c)  // colour * alpha * 2^24 over alpha * 255 * 2^24 / 255
          dst[px + c] = a == 0 ? 0 : static_cast<uint8_t>(std::min<uint64_t>(255, (sums[c] * 255 + a / 2) / a));
      }
    }
  }
  return out;
}

}  // namespace

Raster ResizeArea(const Raster& in, int width, int height) {
  width = std::max(1, width);
  height = std::max(1, height);
  if (width == in.width && height == in.height) return in;
  return in.has_alpha_channel() ? ResizeAreaPasses<true>(in, width, height) : ResizeAreaPasses<false>(in, width, height);
}

Raster ApplyOrientation(Raster in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const bool transpose = orientation >= 5;
  Raster out;
  out.channels = in.channels;
  out.width = transpose ? in.height : in.width;
  out.height = transpose ? in.width : in.height;
  out.pixels.resize(in.pixels.size());
  const int ch = in.channels;
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* src = in.row(y);
    for (int x = 0; x < in.width; ++x) {
      int ox = x, oy = y;
      switch (orientation) {
        case 2: ox = in.width - 1 - x; break;                                // mirror
        case 3: ox = in.width - 1 - x; oy = in.height - 1 - y; break;        // 180
        case 4: oy = in.height - 1 - y; break;                               // flip
        case 5: ox = y; oy = x; break;                                       // transpose
        case 6: ox = in.height - 1 - y; oy = x; break;                       // 90 clockwise
        case 7: ox = in.height - 1 - y; oy = in.width - 1 - x; break;        // transverse
        case 8: ox = y; oy = in.width - 1 - x; break;                        // 90 counter-clockwise
      }
      std::copy_n(src + static_cast<size_t>(x) * static_cast<size_t>(ch), ch,
                  out.row(oy) + static_cast<size_t>(ox) * static_cast<size_t>(ch));
    }
  }
  return out;
}

Raster Crop(const Raster& in, int x, int y, int width, int height) {
  x = std::clamp(x, 0, std::max(0, in.width - 1));
  y = std::clamp(y, 0, std::max(0, in.height - 1));
  width = std::clamp(width, 1, std::max(1, in.width - x));
  height = std::clamp(height, 1, std::max(1, in.height - y));
  if (x == 0 && y == 0 && width == in.width && height == in.height) return in;
  Raster out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(height) * out.row_bytes());
  for (int r = 0; r < height; ++r)
    std::copy_n(in.row(y + r) + static_cast<size_t>(x) * static_cast<size_t>(in.channels), out.row_bytes(), out.row(r));
  return out;
}

Raster ToGray(Raster in) {
  if (in.channels <= 2) return in;
  const bool alpha = in.channels == 4;
  Raster out;
  out.width = in.width;
  out.height = in.height;
  out.channels = alpha ? 2 : 1;
  const size_t n = static_cast<size_t>(in.width) * static_cast<size_t>(in.height);
  out.pixels.resize(n * static_cast<size_t>(out.channels));
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &in.pixels[i * static_cast<size_t>(in.channels)];
    uint8_t* q = &out.pixels[i * static_cast<size_t>(out.channels)];
    q[0] = static_cast<uint8_t>((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
    if (alpha) q[1] = p[3];
  }
  return out;
}

bool HasTransparency(const Raster& in) {
  if (!in.has_alpha_channel()) return false;
  const size_t ch = static_cast<size_t>(in.channels);
  for (size_t i = ch - 1; i < in.pixels.size(); i += ch)
    if (in.pixels[i] != 255) return true;
  return false;
}

Raster Flatten(Raster in, Rgb background) {
  if (!in.has_alpha_channel()) return in;
  const size_t ch = static_cast<size_t>(in.channels);
  const bool gray_in = ch == 2;
  // Gray + alpha stays gray on a gray background; on a coloured one it becomes RGB.
  const size_t colours = gray_in && background.r == background.g && background.g == background.b ? 1 : 3;
  const uint8_t bg[3] = {background.r, background.g, background.b};
  Raster out;
  out.width = in.width;
  out.height = in.height;
  out.channels = static_cast<int>(colours);
  const size_t n = static_cast<size_t>(in.width) * static_cast<size_t>(in.height);
  out.pixels.resize(n * colours);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &in.pixels[i * ch];
    const unsigned a = p[ch - 1];
    for (size_t c = 0; c < colours; ++c) {
      const unsigned v = gray_in ? p[0] : p[c];
      out.pixels[i * colours + c] = static_cast<uint8_t>((v * a + bg[c] * (255u - a) + 127u) / 255u);
    }
  }
  return out;
}

Raster DropAlpha(Raster in) {
  if (!in.has_alpha_channel()) return in;
  return Flatten(std::move(in), Rgb{0, 0, 0});  // every alpha is 255: nothing shows through
}

}  // namespace tacc::workers::image
