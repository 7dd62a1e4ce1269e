#include "tools/think_time.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

namespace tacc::tools {

bool ParseSeconds(std::string_view text, double* out) {
  double scale = 1;
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    scale = 1e-3;
    text.remove_suffix(2);
  } else if (text.size() > 2 && text.substr(text.size() - 2) == "us") {
    scale = 1e-6;
    text.remove_suffix(2);
  } else if (text.size() > 1 && text.back() == 's') {
    text.remove_suffix(1);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) || v < 0) return false;
  *out = v * scale;
  return true;
}

Result<ThinkTime> ThinkTime::Parse(const std::string& spec, double max_s) {
  std::vector<std::string_view> parts;
  std::string_view s(spec);
  size_t start = 0;
  for (;;) {
    size_t c = s.find(':', start);
    parts.push_back(s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  ThinkTime t;
  t.spec_ = spec;
  t.max_s_ = max_s;
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("think time '{}': {} (fixed:1s, exp:2s, uniform:0.5s:2s, pareto:1.4:1s, lognormal:1s:0.8)", spec, why));
  };
  const auto& kind = parts[0];
  if (kind == "fixed" || kind == "exp") {
    if (parts.size() != 2 || !ParseSeconds(parts[1], &t.a_)) return bad("needs one time");
    t.kind_ = kind == "fixed" ? Kind::kFixed : Kind::kExp;
    if (t.kind_ == Kind::kExp && t.a_ <= 0) return bad("the mean must be > 0");
  } else if (kind == "uniform") {
    if (parts.size() != 3 || !ParseSeconds(parts[1], &t.a_) || !ParseSeconds(parts[2], &t.b_) || t.b_ < t.a_) return bad("needs two times, low then high");
    t.kind_ = Kind::kUniform;
  } else if (kind == "pareto") {
    double shape = 0;
    auto [p, ec] = std::from_chars(parts.size() > 1 ? parts[1].data() : nullptr, parts.size() > 1 ? parts[1].data() + parts[1].size() : nullptr, shape);
    if (parts.size() != 3 || ec != std::errc() || shape <= 0 || !ParseSeconds(parts[2], &t.b_) || t.b_ <= 0) return bad("needs a shape > 0 and a scale time > 0");
    t.a_ = shape;
    t.kind_ = Kind::kPareto;
  } else if (kind == "lognormal") {
    double sigma = -1;
    if (parts.size() == 3) std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), sigma);
    if (parts.size() != 3 || !ParseSeconds(parts[1], &t.a_) || t.a_ <= 0 || sigma < 0) return bad("needs a median time > 0 and a sigma >= 0");
    t.b_ = sigma;
    t.kind_ = Kind::kLognormal;
  } else {
    return bad("unknown distribution");
  }
  return t;
}

double ThinkTime::Draw(std::mt19937_64& rng) const {
  double v = 0;
  switch (kind_) {
    case Kind::kFixed:
      v = a_;
      break;
    case Kind::kExp:
      v = std::exponential_distribution<double>(1.0 / a_)(rng);
      break;
    case Kind::kUniform:
      v = std::uniform_real_distribution<double>(a_, b_)(rng);
      break;
    case Kind::kPareto: {
      double u = std::uniform_real_distribution<double>(std::numeric_limits<double>::min(), 1.0)(rng);
      v = b_ / std::pow(u, 1.0 / a_);
      break;
    }
    case Kind::kLognormal:
      v = std::lognormal_distribution<double>(std::log(a_), b_)(rng);
      break;
  }
  return std::min(v, max_s_);
}

double ThinkTime::mean_s() const {
  switch (kind_) {
    case Kind::kFixed:
    case Kind::kExp:
      return a_;
    case Kind::kUniform:
      return (a_ + b_) / 2;
    case Kind::kPareto:
      return a_ > 1 ? a_ * b_ / (a_ - 1) : std::numeric_limits<double>::infinity();
    case Kind::kLognormal:
      return a_ * std::exp(b_ * b_ / 2);
  }
  return 0;
}

}  // namespace tacc::tools
