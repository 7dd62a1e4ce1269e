#include "tools/size_model.h"

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>

namespace tacc::tools {

namespace {
double NormalQuantile(double p) { return boost::math::quantile(boost::math::normal_distribution<double>(0, 1), std::clamp(p, 1e-12, 1 - 1e-12)); }

// Mean of Quantile over u, by the midpoint rule on a fine grid (the tail is capped, so
// this converges).
template <typename F>
double MeanOf(F&& q) {
  constexpr int kSteps = 50000;
  double sum = 0;
  for (int i = 0; i < kSteps; ++i) sum += static_cast<double>(q((i + 0.5) / kSteps));
  return sum / kSteps;
}
}  // namespace

SizeModel::SizeModel(SizeShape shape) : shape_(std::move(shape)) {
  if (shape_.target_mean > 0) {
    // The caps make the mean a little less than linear in the scale: a few rounds.
    for (int round = 0; round < 6; ++round) {
      double m = MeanOf([this](double u) { return Quantile(u); });
      scale_ *= shape_.target_mean / m;
    }
  }
  mean_ = MeanOf([this](double u) { return Quantile(u); });
}

double SizeModel::RawQuantile(double u) const {
  double body_mass = 1 - shape_.tail_share;
  if (u < body_mass) {
    // Body: the parts laid side by side along u, each a log-normal.
    double v = u / body_mass;
    double acc = 0;
    for (const auto& p : shape_.body) {
      if (v < acc + p.share || &p == &shape_.body.back()) {
        double w = std::clamp((v - acc) / p.share, 1e-9, 1 - 1e-9);
        return p.median * std::exp(p.sigma * NormalQuantile(w));
      }
      acc += p.share;
    }
  }
  double largest = 0;
  for (const auto& p : shape_.body) largest = std::max(largest, p.median);
  double xm = largest * shape_.tail_start;
  double w = std::clamp((u - body_mass) / shape_.tail_share, 0.0, 1 - 1e-12);
  return xm / std::pow(1 - w, 1 / shape_.tail_alpha);
}

int64_t SizeModel::Quantile(double u) const {
  double x = RawQuantile(u) * scale_;
  return std::clamp(static_cast<int64_t>(std::llround(x)), shape_.min_bytes, shape_.max_bytes);
}

SizeModel SizeModel::For(ContentClass c) {
  SizeShape s;
  switch (c) {
    case ContentClass::kHtml:
      s.body = {{1.0, 2500, 1.0}};
      s.tail_share = 0.04;
      s.min_bytes = 120;
      s.max_bytes = 512 << 10;
      s.target_mean = 5131;
      break;
    case ContentClass::kGif:
      // Two plateaus (Figure 5): icons and bullets under 1 KB, pictures above.
      s.body = {{0.45, 300, 0.6}, {0.55, 3500, 0.9}};
      s.tail_share = 0.03;
      s.tail_start = 3;
      s.min_bytes = 64;
      s.max_bytes = 1 << 20;
      s.target_mean = 3428;
      break;
    case ContentClass::kJpeg:
      // Falls off fast under 1 KB.
      s.body = {{1.0, 8000, 0.8}};
      s.tail_share = 0.04;
      s.tail_start = 3;
      s.min_bytes = 700;
      s.max_bytes = 2 << 20;
      s.target_mean = 12070;
      break;
    case ContentClass::kOther:
      s.body = {{1.0, 3000, 1.2}};
      s.tail_share = 0.05;
      s.min_bytes = 100;
      s.max_bytes = 2 << 20;
      s.target_mean = 8000;
      break;
    case ContentClass::kError:
      s.body = {{1.0, 420, 0.25}};
      s.tail_share = 0;
      s.min_bytes = 200;
      s.max_bytes = 700;
      break;
  }
  return SizeModel(s);
}

}  // namespace tacc::tools
