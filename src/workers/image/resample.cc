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

}  // namespace

Raster ResizeArea(const Raster& in, int width, int height) {
  width = std::max(1, width);
  height = std::max(1, height);
  if (width == in.width && height == in.height) return in;
  const int ch = in.channels;
  const auto xs = AreaTaps(in.width, width), ys = AreaTaps(in.height, height);
  // Horizontal pass into 16.16 fixed-point sums per row, then vertical.
  std::vector<uint32_t> rows(static_cast<size_t>(in.height) * static_cast<size_t>(width) * static_cast<size_t>(ch));
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* src = in.row(y);
    uint32_t* dst = rows.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * static_cast<size_t>(ch);
    for (int x = 0; x < width; ++x) {
      const Tap& t = xs[static_cast<size_t>(x)];
      for (int c = 0; c < ch; ++c) {
        uint64_t sum = 0;
        for (size_t k = 0; k < t.weights.size(); ++k) sum += static_cast<uint64_t>(src[static_cast<size_t>(t.first + static_cast<int>(k)) * static_cast<size_t>(ch) + static_cast<size_t>(c)]) * t.weights[k];
        dst[static_cast<size_t>(x) * static_cast<size_t>(ch) + static_cast<size_t>(c)] = static_cast<uint32_t>(sum >> 8);  // value * 256
      }
    }
  }
  Raster out;
  out.width = width;
  out.height = height;
  out.channels = ch;
  out.pixels.resize(static_cast<size_t>(height) * out.row_bytes());
  const size_t stride = static_cast<size_t>(width) * static_cast<size_t>(ch);
  for (int y = 0; y < height; ++y) {
    const Tap& t = ys[static_cast<size_t>(y)];
    uint8_t* dst = out.row(y);
    for (size_t i = 0; i < stride; ++i) {
      uint64_t sum = 0;
      for (size_t k = 0; k < t.weights.size(); ++k) sum += static_cast<uint64_t>(rows[static_cast<size_t>(t.first + static_cast<int>(k)) * stride + i]) * t.weights[k];
      // sum is value * 256 * 65536.
      dst[i] = static_cast<uint8_t>(std::min<uint64_t>(255, (sum + (uint64_t{1} << 23)) >> 24));
    }
  }
  return out;
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
  if (in.channels == 1) return in;
  Raster out;
  out.width = in.width;
  out.height = in.height;
  out.channels = 1;
  out.pixels.resize(static_cast<size_t>(in.width) * static_cast<size_t>(in.height));
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const uint8_t* p = &in.pixels[i * 3];
    out.pixels[i] = static_cast<uint8_t>((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
  }
  return out;
}

}  // namespace tacc::workers::image
