// SizeModel: content lengths per MIME class, shaped after the SNS paper's Figure 5 and
// scaled to its measured means (HTML 5,131 B, GIF 3,428 B, JPEG 12,070 B): a log-normal
// body (two for GIF: icons and bullets under 1 KB, pictures above) with a Pareto tail,
// capped. Sizes are read off the quantile function, so a caller that walks u over
// (0,1) evenly (stratified) gets the shape with little sampling noise even for the
// heavy tail; the scale is calibrated numerically so the mean is the target whatever
// the shape parameters. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tacc::tools {

enum class ContentClass { kGif, kHtml, kJpeg, kOther, kError };

struct SizeShape {
  struct Part {
    double share;   // of the non-tail mass
    double median;  // bytes, before calibration
    double sigma;   // of log(size)
  };
  std::vector<Part> body;
  double tail_share = 0.05;  // Pareto tail
  double tail_alpha = 1.3;
  double tail_start = 4;     // the tail starts at tail_start x the body's largest median
  int64_t min_bytes = 64;
  int64_t max_bytes = 1 << 20;
  double target_mean = 0;    // 0: no calibration
};

class SizeModel {
 public:
  explicit SizeModel(SizeShape shape);
  // The paper's shape for each class (kError: the small error-page spike, 200-700 B).
  static SizeModel For(ContentClass c);
  int64_t Quantile(double u) const;  // u in (0,1)
  double mean() const { return mean_; }  // of Quantile over u, after calibration
  int64_t min_bytes() const { return shape_.min_bytes; }

 private:
  double RawQuantile(double u) const;
  SizeShape shape_;
  double scale_ = 1;
  double mean_ = 0;
};

}  // namespace tacc::tools
