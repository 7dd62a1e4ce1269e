#include "workers/image/gray_levels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace tacc::workers::image {

int GrayBitDepth(int levels) { return levels <= 2 ? 1 : levels <= 4 ? 2 : levels <= 16 ? 4 : 8; }

Raster DitherGray(const Raster& gray, int levels) {
  if (gray.channels != 1 || levels < 2 || levels > 256) return gray;
  // The level values: sample s_i = round(i * max / (levels - 1)) of a `depth`-bit PNG,
  // shown as s_i * 255 / max (exact: 255 / max is a whole number for 1, 2, 4, 8 bits).
  const int max = (1 << GrayBitDepth(levels)) - 1;
  std::vector<int> values(static_cast<size_t>(levels));
  for (int i = 0; i < levels; ++i)
    values[static_cast<size_t>(i)] = static_cast<int>(std::lround(static_cast<double>(i) * max / (levels - 1))) * (255 / max);
  // The nearest level for each value 0..255.
  uint8_t nearest[256];
  for (int v = 0, i = 0; v < 256; ++v) {
    while (i + 1 < levels && std::abs(values[static_cast<size_t>(i) + 1] - v) <= std::abs(values[static_cast<size_t>(i)] - v)) ++i;
    nearest[v] = static_cast<uint8_t>(values[static_cast<size_t>(i)]);
  }
  Raster out = gray;
  const int w = gray.width;
  // Errors in 1/16 of a gray step, for this row and the next; one pixel of margin each side.
  std::vector<int> cur(static_cast<size_t>(w) + 2), next(static_cast<size_t>(w) + 2);
  for (int y = 0; y < gray.height; ++y) {
    uint8_t* row = out.row(y);
    const bool ltr = y % 2 == 0;
    const int dir = ltr ? 1 : -1;
    for (int k = 0; k < w; ++k) {
      const int x = ltr ? k : w - 1 - k;
      const size_t e = static_cast<size_t>(x) + 1;
      const int want = std::clamp(row[x] + (cur[e] + (cur[e] >= 0 ? 8 : -8)) / 16, 0, 255);
      const int got = nearest[want];
      row[x] = static_cast<uint8_t>(got);
      const int err = want - got;
      cur[static_cast<size_t>(static_cast<int>(e) + dir)] += err * 7;
      next[static_cast<size_t>(static_cast<int>(e) - dir)] += err * 3;
      next[e] += err * 5;
      next[static_cast<size_t>(static_cast<int>(e) + dir)] += err * 1;
    }
    std::swap(cur, next);
    std::fill(next.begin(), next.end(), 0);
  }
  return out;
}

}  // namespace tacc::workers::image
